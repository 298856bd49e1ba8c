"""``greenops-tb zones [--search TEXT] [--cloud]``: list the embedded grid zones (or cloud regions)."""
from __future__ import annotations

import argparse
import unicodedata

from greenops_tb.grid.dataset import Dataset, load


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("zones", help="list grid zones with carbon intensity, year and source",
                              description=__doc__)
    p.add_argument("--search", metavar="TEXT", help="only rows whose key, name or source contain TEXT")
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


def _filter(rows: list[tuple[str, ...]], search: str | None) -> list:
    s = _fold(search or "")
    return sorted(r for r in rows if not s or any(s in _fold(cell) for cell in r))


def _print(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for row in (header, *rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())


def run(args: argparse.Namespace) -> int:
    ds = load()
    if args.cloud:
        rows = cloud_rows(ds, args.search)
        header = ("cloud", "location", "zone", "g/kWh", "year", "source")
    else:
        rows = zone_rows(ds, args.search)
        header = ("zone", "name", "g/kWh", "year", "source", "mix")
    if not rows:
        print(f"no {'cloud regions' if args.cloud else 'zones'} match {args.search!r}")
        return 1
    _print(header, rows)
    return 0
