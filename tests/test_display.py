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
