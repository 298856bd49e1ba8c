"""Opt-in live grid providers (need a network); every failure falls back to the embedded value."""
from __future__ import annotations

from typing import Any, Mapping

from greenops_tb.grid.static import StaticGrid

PROVIDERS = ("electricitymaps", "uk-carbon-intensity")


def make_live_grid(name: str, static: StaticGrid, options: dict[str, Any], env: Mapping[str, str]):
    """A live grid for provider ``name`` on top of the embedded ``static`` grid."""
    raise ValueError(f"live={name!r}: live providers are not available yet; supported soon: {', '.join(PROVIDERS)}."
                     " Leave live unset to use the embedded yearly data.")
