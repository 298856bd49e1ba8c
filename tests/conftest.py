"""Shared test fixtures.

CI sets ``GREENOPS_REQUIRE_ALL=1``: then a test that lacks a tool (chromium,
node, a framework) FAILS instead of skipping, so nothing is silently untested.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import pytest

if TYPE_CHECKING:
    from greenops_tb import GreenSummaryWriter

REQUIRE_ALL = os.environ.get("GREENOPS_REQUIRE_ALL") == "1"


def constant_writer(path: str | Path, watts: Mapping[str, float] | None = None, **kw: Any) -> GreenSummaryWriter:
    """The tests' usual writer: ``country="DE"`` and one constant-power meter (``{"cpu:0": 10.0}`` W) unless
    ``country=``, ``meters=`` or ``watts=`` say otherwise; other options go to GreenSummaryWriter."""
    from greenops_tb import ConstantPowerSource, GreenSummaryWriter

    kw.setdefault("country", "DE")
    kw.setdefault("meters", [ConstantPowerSource(dict(watts or {"cpu:0": 10.0}))])
    return GreenSummaryWriter(str(path), **kw)


def require(condition: bool, what: str) -> None:
    """Skip locally, fail in CI, when ``condition`` (a needed tool is present) is false."""
    if condition:
        return
    if REQUIRE_ALL:
        pytest.fail(f"required for this test but missing: {what} (GREENOPS_REQUIRE_ALL=1)")
    pytest.skip(f"missing: {what}")


@pytest.fixture(autouse=True)
def _no_location_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their location explicitly; the developer's environment must not leak in."""
    for var in (
        "GREENOPS_COUNTRY",
        "GREENOPS_REGION",
        "GREENOPS_CLOUD",
        "GREENOPS_CONFIG",
        "GREENOPS_PRICE_PER_KWH",
        "GREENOPS_CURRENCY",
        "GREENOPS_LIVE",
        "GREENOPS_METADATA_URL",
        "ELECTRICITYMAPS_TOKEN",
    ):
        monkeypatch.delenv(var, raising=False)


_device_deselected: list[str] = []


def pytest_deselected(items: list[pytest.Item]) -> None:
    """Remember the device-only tests ``-m "not device"`` (pytest.ini) left out, to report them."""
    _device_deselected.extend(i.nodeid for i in items if i.get_closest_marker("device") is not None)


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001 - pytest's TerminalReporter
    if _device_deselected:
        terminalreporter.write_line(
            f"{len(_device_deselected)} deselected (device-only, NOT run: they need a real GPU; "
            f"on a GPU machine: python -m pytest -m device tests): {', '.join(_device_deselected)}",
            yellow=True,
        )
