"""Where are we? The location precedence, each level tried in order; the first that names a place wins.

1. explicit arguments (``region=`` > ``cloud=`` > ``country=``)          -> ``argument:<kind>``
2. environment ``GREENOPS_REGION`` > ``GREENOPS_CLOUD`` > ``GREENOPS_COUNTRY`` -> ``env:GREENOPS_<KIND>``
3. config file ``[grid]`` table (``config_path=``, ``GREENOPS_CONFIG``, or
   ``$XDG_CONFIG_HOME/greenops_tb.toml`` / ``~/.config/greenops_tb.toml``) -> ``config:<kind>``
4. cloud metadata endpoint, only with ``detect_cloud=True``               -> ``cloud-metadata``
5. the system time zone as an offline hint (``TZ`` or ``/etc/localtime``)  -> ``timezone``
6. the world average, with one warning                                    -> ``world-average``

A level that names an unknown place raises :class:`~greenops_tb.grid.lookup.LocationError`; it never
falls through silently. No IP geolocation is ever done.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from greenops_tb.errors import UsageError


KINDS = ("region", "cloud", "country")  # most specific first
CONFIG_TABLE = "grid"


@dataclass(frozen=True, slots=True)
class Choice:
    """A location named at some level: ``kind`` is region/cloud/country/zone, ``source`` the label recorded."""

    kind: str
    text: str
    source: str


def from_values(values: Mapping[str, Any], label: str) -> Choice | None:
    """The most specific of region/cloud/country set in ``values``; ``label`` gets ``:<kind>`` appended."""
    for kind in KINDS:
        v = values.get(kind)
        if v not in (None, ""):
            return Choice(kind, str(v), f"{label}:{kind}")
    return None


def from_env(env: Mapping[str, str]) -> Choice | None:
    for kind in KINDS:
        name = f"GREENOPS_{kind.upper()}"
        if env.get(name):
            return Choice(kind, env[name], f"env:{name}")
    return None


def config_file(config_path: str | os.PathLike | None, env: Mapping[str, str]) -> Path | None:
    """The config file to read: an explicit path must exist; the default locations may be absent."""
    explicit = config_path or env.get("GREENOPS_CONFIG")
    if explicit:
        p = Path(explicit).expanduser()
        if not p.is_file():
            raise FileNotFoundError(f"greenops config file {p} does not exist; fix config_path=/GREENOPS_CONFIG"
                                    " or remove it")
        return p
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    p = Path(base) / "greenops_tb.toml"
    return p if p.is_file() else None


def read_config(path: Path | None) -> dict[str, Any]:
    """The ``[grid]`` table of the TOML file (keys: country, region, cloud, price_per_kwh, currency, live)."""
    if path is None:
        return {}
    import tomllib  # only when a config file exists (most runs have none: start-up stays lean)

    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"greenops config file {path} is not valid TOML ({e}); fix or remove it") from e
    table = data.get(CONFIG_TABLE, {})
    if not isinstance(table, dict):
        raise UsageError(f"greenops config file {path}: [{CONFIG_TABLE}] must be a table")
    return table


def timezone_name(env: Mapping[str, str], localtime: Path = Path("/etc/localtime")) -> str | None:
    """IANA name of the system time zone from ``TZ`` or the ``/etc/localtime`` link, if knowable offline."""
    tz = (env.get("TZ") or "").lstrip(":")
    if tz:
        return tz if "/" in tz else None
    try:
        target = os.readlink(localtime)
    except OSError:
        return None
    parts = Path(target).parts
    return "/".join(parts[parts.index("zoneinfo") + 1:]) if "zoneinfo" in parts else None


def timezone_country(tz: str, tab_dirs: tuple[str, ...] = ("/usr/share/zoneinfo",)) -> str | None:
    """Alpha-2 country of an IANA zone via ``zone.tab`` (one country per zone); None if unknown."""
    for d in tab_dirs:
        tab = Path(d) / "zone.tab"
        try:
            lines = tab.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            if line and not line.startswith("#"):
                cols = line.split("\t")
                if len(cols) >= 3 and cols[2] == tz:
                    return cols[0]
    return None
