"""One way of writing numbers (issue 13 item 5): display.py against the table format.ts is tested with too,
and every text output (print(writer), `greenops-tb summary`) uses it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from greenops_tb.display import FORMATTERS

CASES = json.loads((Path(__file__).parent / "fixtures" / "format_cases.json").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize(("fn", "args", "want"), CASES, ids=[f"{c[0]}{tuple(c[1])}" for c in CASES])
def test_formatter_matches_the_shared_table(fn: str, args: list, want: str) -> None:
    assert FORMATTERS[fn](*args) == want


@pytest.mark.parametrize(("fn", "args", "want"), CASES, ids=[f"np-{c[0]}{tuple(c[1])}" for c in CASES])
def test_numpy_scalars_read_like_floats(fn: str, args: list, want: str) -> None:
    """numpy 2's repr is ``np.float64(0.5)``: analysis hands the formatters numpy scalars (issue 24 item 1)."""
    import numpy as np

    np_args = [np.float64(a) if isinstance(a, float) else a for a in args]
    assert FORMATTERS[fn](*np_args) == want
    assert FORMATTERS[fn](*[np.float32(a) if isinstance(a, float) and abs(a) < 1e30 else a for a in args])


def test_forecast_describe_with_a_cost_band(tmp_path: Path) -> None:
    """``summary --forecast`` crashed once the cost band reached 0.01 (numpy scalars in format_cost)."""
    from conftest import constant_writer

    with constant_writer(tmp_path, price_per_kwh=500.0) as w:
        w.start("train")
        for step in range(40):
            w.update("train", step=step)
        text = w.forecast("train", total_steps=100_000).describe()
    assert "cost" in text and "EUR" in text and "np.float64" not in text
