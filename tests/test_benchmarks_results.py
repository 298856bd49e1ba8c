"""The committed benchmarks/RESULTS.md came from the committed benchmark code, and every ratio in it is
value / baseline value (within the rounding of the printed cells); "within noise" only where the spreads overlap.

Read with this file's own parser and hash, not the harness's.
"""
from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
RESULTS = BENCH / "RESULTS.md"
COLUMNS = ["module", "name", "value", "spread", "n", "unit", "baseline", "baseline value", "ratio", "target", "met",
           "note"]


def _table() -> list[dict[str, str]]:
    lines = [ln for ln in RESULTS.read_text(encoding="utf-8").splitlines() if ln.startswith("| ")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    assert head == COLUMNS
    rows = []
    for ln in lines[1:]:
        cells = [c.strip() for c in ln.strip().removeprefix("|").removesuffix("|").split(" | ")]
        assert len(cells) == len(COLUMNS), ln
        rows.append(dict(zip(COLUMNS, cells)))
    return rows


def _interval(cell: str) -> tuple[float, float]:
    """The range of numbers that print as ``cell`` (half a unit of its last digit either side)."""
    d = Decimal(cell.replace(",", "").removesuffix("x"))
    half = Decimal(5) * Decimal(10) ** (d.as_tuple().exponent - 1)
    return float(d - half), float(d + half)


def _spread(cell: str) -> tuple[float, float]:
    """``"lo - hi"`` as the widest range its printed numbers allow."""
    lo, hi = cell.split(" - ")
    return _interval(lo)[0], _interval(hi)[1]


def test_header_stamps_the_committed_benchmark_code() -> None:
    text = RESULTS.read_text(encoding="utf-8")
    assert "(full mode)" in text, "RESULTS.md must come from a full run: python benchmarks/run_all.py"
    commit = re.search(r"^- commit: ([0-9a-f]{40})$", text, re.M)
    assert commit, "no clean commit stamp (a run from a dirty tree says '+ uncommitted changes')"
    stamped = re.search(r"^- benchmarks/\*\.py sha256: ([0-9a-f]{64})$", text, re.M)
    assert stamped
    h = hashlib.sha256()
    for path in sorted(BENCH.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    assert stamped.group(1) == h.hexdigest(), (
        "benchmarks/*.py changed since RESULTS.md was written: regenerate it with python benchmarks/run_all.py")


def test_every_ratio_is_value_over_baseline_value() -> None:
    rows = _table()
    assert len(rows) > 20
    checked = 0
    for r in rows:
        where = f"{r['module']}: {r['name']}"
        assert "FAILED" not in r["name"], where
        assert r["met"] in ("", "met", "not met"), where
        assert r["target"] or not r["met"], f"{where}: met/not met without a target"
        if r["baseline value"] == "":
            assert r["ratio"] == "-", f"{where}: a ratio without a same-run baseline value"
            continue
        assert r["baseline"], f"{where}: a baseline value without its name"
        if r["ratio"] == "within noise":
            base_spread = re.match(r"baseline spread ([^;]+?)(?:;|$)", r["note"])
            assert r["spread"] and base_spread, f"{where}: 'within noise' needs both spreads"
            (a_lo, a_hi), (b_lo, b_hi) = _spread(r["spread"]), _spread(base_spread.group(1))
            assert a_lo <= b_hi and b_lo <= a_hi, f"{where}: spreads do not overlap, yet 'within noise'"
            continue
        assert r["ratio"].endswith("x"), where
        v_lo, v_hi = _interval(r["value"])
        b_lo, b_hi = _interval(r["baseline value"])
        q_lo, q_hi = _interval(r["ratio"])
        assert b_lo > 0, where
        assert v_lo / b_hi <= q_hi and q_lo <= v_hi / b_lo, \
            f"{where}: ratio {r['ratio']} is not {r['value']} / {r['baseline value']}"
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize(("cell", "lo", "hi"), [("1.50", 1.495, 1.505), ("383", 382.5, 383.5),
                                                ("7.33e-06", 7.325e-06, 7.335e-06), ("1,000,000", 999999.5, 1000000.5),
                                                ("0.0229x", 0.02285, 0.02295)])
def test_rounding_interval_of_a_printed_cell(cell: str, lo: float, hi: float) -> None:
    assert _interval(cell) == pytest.approx((lo, hi), rel=1e-12)
