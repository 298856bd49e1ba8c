"""Shared test fixtures.

CI sets ``GREENOPS_REQUIRE_ALL=1``: then a test that lacks a tool (chromium,
node, a framework) FAILS instead of skipping, so nothing is silently untested.
"""
from __future__ import annotations

import os

import pytest

REQUIRE_ALL = os.environ.get("GREENOPS_REQUIRE_ALL") == "1"


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
