"""Turn a user's country / region / cloud-region text into a zone of the dataset, or a clear error."""
from __future__ import annotations

import difflib

from greenops_tb.errors import LocationError as LocationError
from greenops_tb.grid.dataset import Dataset, Zone


def _suggest(text: str, candidates: dict[str, str], n: int = 5) -> list[str]:
    """Close matches of ``text`` among ``candidates`` (lower-case key -> display form)."""
    hits = difflib.get_close_matches(text.lower(), list(candidates), n=n, cutoff=0.6)
    seen: list[str] = []
    for h in hits:
        if candidates[h] not in seen:
            seen.append(candidates[h])
    return seen


def _fail(kind: str, text: str, suggestions: list[str], how: str, listing: str = "greenops-tb zones") -> LocationError:
    hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
    return LocationError(f"Unknown {kind} {text!r}.{hint} {how} Run `{listing} --search TEXT` to list what is available.")


def find_country(ds: Dataset, text: str) -> Zone:
    """A country by ISO alpha-2, alpha-3 or name (case-insensitive)."""
    t = str(text).strip()
    key = t.upper() if t.upper() in ds.zones else ds.aliases.get(t.lower())
    zone = ds.zones.get(key) if key else None
    if zone is not None and zone.kind in ("country", "world"):
        return zone
    cands = {k.lower(): f"{k} ({z.name})" for k, z in ds.zones.items() if z.kind == "country"}
    cands.update({a: f"{k} ({ds.zones[k].name})" for a, k in ds.aliases.items() if ds.zones[k].kind == "country"})
    raise _fail("country", t, _suggest(t, cands),
                "Pass country= as an ISO 3166 alpha-2 or alpha-3 code or an English name (e.g. 'DE', 'DEU', 'Germany'),"
                " or region= for a sub-national zone.")


def find_region(ds: Dataset, text: str) -> Zone:
    """A zone by ISO 3166-2 code (``US-CA``), Electricity Maps zone key (``SE-SE3``) or country."""
    t = str(text).strip()
    key = t.upper() if t.upper() in ds.zones else ds.aliases.get(t.lower())
    if key:
        return ds.zones[key]
    cands = {k.lower(): f"{k} ({z.name})" for k, z in ds.zones.items()}
    cands.update({z.name.lower(): f"{k} ({z.name})" for k, z in ds.zones.items()})
    raise _fail("region", t, _suggest(t, cands),
                "Pass region= as an ISO 3166-2 code ('US-CA', 'IN-MH', 'CA-QC', 'AU-NSW') or an Electricity Maps"
                " zone key ('US-CAL-CISO', 'SE-SE3').")


def find_cloud(ds: Dataset, text: str) -> tuple[Zone, str]:
    """``provider:region`` (``aws:eu-west-1``) -> (zone, normalised key)."""
    t = str(text).strip().lower()
    if ":" not in t:
        raise LocationError(
            f"Cloud region {text!r} must be written provider:region, e.g. 'aws:eu-west-1', 'gcp:europe-west4',"
            " 'azure:westeurope'."
        )
    region = ds.cloud.get(t)
    if region is None:
        cands = {k: k for k in ds.cloud}
        raise _fail("cloud region", t, _suggest(t, cands),
                    "Pass cloud= as provider:region for aws, gcp or azure (e.g. 'aws:eu-west-1'), or pass"
                    " country=/region= for the data centre's location.", listing="greenops-tb zones --cloud")
    return ds.zones[region.zone], t
