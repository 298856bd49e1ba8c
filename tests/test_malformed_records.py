"""Malformed records never hide a run: valid JSON of the wrong shape is skipped and counted by every reader.

A real run (torch loop through GreenSummaryWriter) gets foreign "records" appended under the green
plugin: JSON lists, strings, numbers, null, objects with wrong field types. ``summary``/``export``/
``compare``/``verify`` say "N malformed records skipped" and report the real run's numbers; the Green
tab's summary carries the count. A CSV with short/long/garbled rows is read around them; ``verify``
names the row and exits 2; ``read_csv`` warns about unknown or missing columns.
"""
from __future__ import annotations

import csv
import json
import math
import shutil
import warnings
from pathlib import Path

import pytest

from cli_runs import cli, rows
from greenops_tb.readers.csv import read_records
from greenops_tb.format.tags import record_tag
from test_plugin_routes import _append_green_event, client, get
from training import train

N_BAD = 9


@pytest.fixture(scope="module")
def spoiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """(logdir, totals) of one real run plus N_BAD wrong-shape records appended after its last step."""
    root = tmp_path_factory.mktemp("malformed")
    run = root / "logs" / "run_m"
    totals = train(run, steps=12, eval_every=6, country="DE", hash_chain=True).totals
    good = read_records(run / "green.csv")[0].to_json()
    bad = [
        "[1, 2, 3]", '"just a string"', "7", "null", "true",
        json.dumps({**good, "stage": "train", "seq": "x"}),
        json.dumps({"run": "run_m", "stage": 5, "seq": 0}),
        json.dumps({"run": "run_m", "stage": "train", "devices": [1, 2]}),
        json.dumps({"run": "run_m", "stage": "train", "watched": {"loss": "low"}}),
    ]
    assert len(bad) == N_BAD
    for i, text in enumerate(bad):
        _append_green_event(run, record_tag("train"), text, 1000 + i)
    return root / "logs", totals


@pytest.mark.parametrize("loader", ["python", "server"])
def test_summary_skips_and_counts_with_both_loaders(spoiled, capsys, loader):
    logdir, totals = spoiled
    code, out, err = cli(capsys, "summary", str(logdir), "--json", "--loader", loader)
    assert code == 0, err
    assert f"run_m: {N_BAD} malformed records skipped" in err
    (s,) = json.loads(out)
    assert s["malformed_skipped"] == N_BAD
    assert math.isclose(s["totals"]["energy_kwh"], totals.total.energy_kwh, rel_tol=1e-9)
    assert s["records_kept"] == totals.total.records


def test_export_and_compare_skip_and_count(spoiled, capsys, tmp_path):
    logdir, totals = spoiled
    code, _, err = cli(capsys, "export", str(logdir), "-o", str(tmp_path / "all.csv"), "--loader", "python")
    assert code == 0 and f"run_m: {N_BAD} malformed records skipped" in err
    assert len(rows(tmp_path / "all.csv")) - 1 == totals.total.records
    code, out, err = cli(capsys, "compare", str(logdir / "run_m"), str(logdir / "run_m" / "green.csv"),
                         "--loader", "python")
    assert code == 0 and err.count("malformed records skipped") == 1, err
    assert "\nenergy " in out  # the text table: one row per metric, in words


def test_verify_counts_malformed_event_records(spoiled, capsys):
    logdir, totals = spoiled
    code, out, err = cli(capsys, "verify", str(logdir / "run_m" / "green.csv"))  # verify reads the event files themselves
    assert code == 0, err
    assert f"{logdir / 'run_m'}: {N_BAD} malformed records skipped" in err
    assert f"matches the {totals.total.records} records in the event files" in out


def test_green_tab_summary_carries_the_count(spoiled):
    logdir, totals = spoiled
    s = get(client(logdir), "/summary?run=run_m")
    assert s["malformed_skipped"] == N_BAD and s["records_kept"] == totals.total.records
    assert math.isclose(s["totals"]["energy_kwh"], totals.total.energy_kwh, rel_tol=1e-9)


def _spoil_csv(src: Path, dst: Path) -> list[list[str]]:
    table = rows(src)
    n = len(table[0])
    table.insert(3, table[2][: n - 4])  # a short row
    table.insert(5, table[4] + ["extra", "cells"])  # a long row
    seq = table[0].index("seq")
    table[7] = list(table[7])
    table[7][seq] = "seven"  # a garbled number
    with open(dst, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\r\n").writerows(table)
    return table


def test_csv_readers_skip_count_and_name_the_first(spoiled, tmp_path, capsys):
    logdir, totals = spoiled
    dst = tmp_path / "spoiled.csv"
    table = _spoil_csv(logdir / "run_m" / "green.csv", dst)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        recs = read_records(dst)
    assert len(recs) == len(table) - 1 - 3  # every good row kept
    msgs = [str(w.message) for w in caught]
    assert len(msgs) == 1 and "3 malformed records skipped (first: data row 3 (line 4)" in msgs[0]
    code, out, err = cli(capsys, "compare", str(dst), str(logdir / "run_m" / "green.csv"))
    assert code == 0 and f"{dst}: 3 malformed records skipped" in err


@pytest.mark.parametrize("where, row", [("short", 3), ("long", 5)])
def test_verify_exits_2_on_a_short_or_long_row_naming_it(spoiled, tmp_path, capsys, where, row):
    logdir, _ = spoiled
    table = rows(logdir / "run_m" / "green.csv")
    n = len(table[0])
    table.insert(row, table[row - 1][: n - 4] if where == "short" else table[row - 1] + ["x"])
    dst = tmp_path / "run_m"
    shutil.copytree(logdir / "run_m", dst)
    with open(dst / "green.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\r\n").writerows(table)
    code, out, err = cli(capsys, "verify", str(dst / "green.csv"))
    cells = n - 4 if where == "short" else n + 1
    assert code == 2, (code, out, err)
    assert f"data row {row} (line {row + 1}) has {cells} cells but the header has {n}" in err


def test_read_csv_warns_on_unknown_and_missing_columns(spoiled, tmp_path):
    from greenops_tb import read_csv

    logdir, totals = spoiled
    table = rows(logdir / "run_m" / "green.csv")
    drop = table[0].index("facility_energy_kwh")
    table = [r[:drop] + r[drop + 1:] + ["?"] for r in table]
    table[0][-1] = "mystery"
    dst = tmp_path / "cols.csv"
    with open(dst, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\r\n").writerows(table)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = read_csv(dst)
    msgs = [str(w.message) for w in caught if "greenops_tb" in str(w.message)]
    assert len(msgs) == 1, msgs
    assert "unknown columns ['mystery'] are ignored" in msgs[0]
    assert "columns ['facility_energy_kwh'] are missing and read as 0 / empty" in msgs[0]
    assert len(df) == totals.total.records
