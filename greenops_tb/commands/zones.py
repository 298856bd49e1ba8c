"""``greenops-tb zones [--search TEXT] [--cloud]``: list the embedded grid zones (or cloud regions)."""
from __future__ import annotations

import argparse
import shlex
import unicodedata
from typing import Sequence

from greenops_tb.grid.dataset import Dataset, load

CLOUD_HEADER = ("cloud", "location", "zone", "g/kWh", "year", "source")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("zones", help="list grid zones with carbon intensity, year and source",
                              description=__doc__)
    p.add_argument("--search", metavar="TEXT", help="only rows whose key, name or source contain TEXT (exact key first)")
    p.add_argument("--cloud", action="store_true", help="list cloud regions (provider:region -> zone)")
    p.set_defaults(func=run)


def zone_rows(ds: Dataset, search: str | None = None) -> list[tuple[str, str, str, str, str, str]]:
    """(key, name, g/kWh, year, source (basis), mix source) for zones matching ``search``."""
    rows = [(z.key, z.name, f"{z.carbon_intensity_g_per_kwh:g}", str(z.year), z.label, z.mix_source or "-")
            for z in ds.zones.values()]
    return _filter(rows, search)


def cloud_rows(ds: Dataset, search: str | None = None) -> list[tuple[str, str, str, str, str, str]]:
    rows = []
    for c in ds.cloud.values():
        z = ds.zones[c.zone]
        rows.append((c.key, c.name, c.zone, f"{z.carbon_intensity_g_per_kwh:g}", str(z.year), z.label))
    return _filter(rows, search)


def _fold(text: str) -> str:
    """Lower case without accents, so "quebec" finds "Québec"."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def _filter(rows: Sequence[tuple[str, ...]], search: str | None) -> list:
    """Rows with ``search`` in any cell: an exact key match first, then keys starting with it, then the rest."""
    s = _fold(search or "")
    hits = [r for r in rows if not s or any(s in _fold(cell) for cell in r)]
    return sorted(hits, key=lambda r: (0 if _fold(r[0]) == s else 1 if _fold(r[0]).startswith(s) else 2, r))


def _print(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for row in (header, *rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())


def run(args: argparse.Namespace) -> int:
    ds = load()
    clouds = cloud_rows(ds, args.search) if args.cloud or args.search else []
    if args.cloud:
        rows, header = clouds, CLOUD_HEADER
    else:
        rows, header = zone_rows(ds, args.search), ("zone", "name", "g/kWh", "year", "source", "mix")
    if not rows and not args.cloud and clouds:  # a cloud region searched without --cloud: show the regions
        print(f"no zones match {args.search!r}; cloud regions that do (greenops-tb zones --cloud):")
        rows, header = clouds, CLOUD_HEADER
    elif not rows:
        print(f"no {'cloud regions' if args.cloud else 'zones'} match {args.search!r}")
        return 1
    _print(header, rows)
    if header != CLOUD_HEADER and clouds:
        print(f"note: {len(clouds)} cloud region{'s' if len(clouds) != 1 else ''} also match {args.search!r}; "
              f"list them with: greenops-tb zones --cloud --search {shlex.quote(args.search)}")
    return 0
