"""Hostile green CSVs: huge cells, bytes that are not UTF-8, numbers no reader can hold, garbage appended.

Every reader (read_csv, read_records, the CLI's commands, re-opening the run) reads what the writer can
write, skips and counts what it cannot decode, and keeps every good row.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
import warnings
from pathlib import Path

import pytest
from cli_runs import cli_process, rows, train_run
from conftest import constant_writer, require
from decision_runs import has_module
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_plugin_routes import _append_green_event

import greenops_tb
from greenops_tb.cli import main
from greenops_tb.format.tags import record_tag
from greenops_tb.readers.csv import read_records, read_records_counted

LONG = 140_000  # over the csv module's default field-size limit (131,072 characters)


@pytest.fixture(scope="module")
def long_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run (hash-chained) whose run_name, in every row, is a cell of LONG characters."""
    return train_run(tmp_path_factory.mktemp("long") / "run", steps=6, run_name="r" * LONG)


@pytest.fixture(scope="module")
def good_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_run(tmp_path_factory.mktemp("good") / "run", steps=6)


def _records(path: Path) -> list[greenops_tb.Record]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_records(path)


def _wide_rows(path: Path) -> list[list[str]]:
    """:func:`rows` with the csv module's field-size limit raised for this read only."""
    old = csv.field_size_limit(4 * LONG)
    try:
        return rows(path)
    finally:
        csv.field_size_limit(old)


def test_a_cell_over_the_csv_field_limit_reads_in_every_command(long_run: Path, tmp_path: Path) -> None:
    table = _wide_rows(long_run)
    n = len(table) - 1
    assert len(table[1][0]) == LONG
    done = cli_process("verify", str(long_run.parent))
    assert done.returncode == 0 and f"OK: {n} rows, chain intact" in done.stdout, done.stderr
    for args in (("report", str(long_run), "--format", "json"), ("whatif", str(long_run)),
                 ("compare", str(long_run), str(long_run)), ("summary", str(long_run.parent))):
        done = cli_process(*args)
        assert done.returncode == 0, (args, done.stderr[-2000:])
        assert "field larger than field limit" not in done.stderr
    out = tmp_path / "export.csv"
    done = cli_process("export", str(long_run.parent), "-o", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    assert [r[0] for r in _wide_rows(out)[1:]] == ["r" * LONG] * n
    df = greenops_tb.read_csv(long_run)
    assert len(df) == n and set(df["run"]) == {"r" * LONG}
    # re-opening continues the run after its last row
    with constant_writer(long_run.parent, run_name="r" * LONG, hash_chain=True) as w:
        w.start("train")
        w.stop("train")
    seqs = [r.seq for r in read_records(long_run)]
    assert seqs == list(range(n + 1))


def test_parquet_export_of_a_row_over_pyarrows_block(tmp_path: Path) -> None:
    """pyarrow reads CSV in blocks (1 MiB by default) and fails on a row much longer than one."""
    name = "p" * (3 << 20)  # 3 MiB
    with constant_writer(tmp_path / "run", run_name=name) as w:
        w.start("train")
        w.stop("train")
    require(has_module("pyarrow"), "pyarrow (the parquet extra)")
    import pyarrow.parquet as pq

    done = cli_process("export", str(tmp_path / "run"), "-o", str(tmp_path / "out.parquet"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert pq.read_table(tmp_path / "out.parquet").column("run").to_pylist() == [name]


def _rewrite(path: Path, edit) -> None:  # noqa: ANN001 - a function of the data rows' bytes
    lines = path.read_bytes().split(b"\r\n")
    edit(lines)
    path.write_bytes(b"\r\n".join(lines))


def test_bytes_that_are_not_utf8_are_skipped_and_counted(good_csv: Path, tmp_path: Path) -> None:
    run = Path(shutil.copytree(good_csv.parent, tmp_path / "run"))
    path = run / "green.csv"
    want = [r.seq for r in _records(path)]

    def damage(lines: list[bytes]) -> None:
        lines[2] = lines[2].replace(b",DE,", b",D\xffE,", 1)  # in a text cell: the row still reads
        lines[4] = b"\xfe" + lines[4]

    _rewrite(path, damage)
    with pytest.warns(RuntimeWarning, match=r"2 undecodable bytes \(not UTF-8\) skipped, the first on line 3"):
        df = greenops_tb.read_csv(path)
    assert list(df["seq"]) == want
    done = cli_process("compare", str(path), str(path))
    assert done.returncode == 0, done.stderr
    assert "2 undecodable bytes (not UTF-8) skipped, the first on line 3" in done.stderr
    assert "Traceback" not in done.stderr
    done = cli_process("verify", str(path))
    assert done.returncode == 1 and "BROKEN at line 3: 2 undecodable bytes" in done.stderr, done.stderr
    # re-opening a damaged run continues it instead of raising UnicodeDecodeError
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with constant_writer(run, hash_chain=True) as w:
            w.start("train")
            w.stop("train")
    assert [r.seq for r in _records(path)] == want + [want[-1] + 1]


def test_numbers_no_reader_can_hold_make_their_row_malformed(good_csv: Path, tmp_path: Path) -> None:
    table = rows(good_csv)
    header = table[0]
    table[2][header.index("seq")] = str(2**70)  # beyond int64
    table[3][header.index("start_time")] = "1e300"  # beyond any timestamp
    path = tmp_path / "green.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\r\n").writerows(table)
    want = [int(r[header.index("seq")]) for i, r in enumerate(table[1:]) if i not in (1, 2)]
    with pytest.warns(RuntimeWarning, match="2 malformed records skipped .*outside the 64-bit integer range"):
        df = greenops_tb.read_csv(path)
    assert list(df["seq"]) == want
    done = cli_process("compare", str(path), str(path))
    assert done.returncode == 0 and "2 malformed records skipped" in done.stderr, done.stderr


def test_event_records_no_reader_can_hold_are_malformed_too(good_csv: Path, tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    run = Path(shutil.copytree(good_csv.parent, logdir / "run"))
    good = _records(good_csv)
    for i, bad in enumerate(({"seq": 2**70}, {"start_time": 1e300})):
        _append_green_event(run, record_tag("train"), json.dumps({**good[-1].to_json(), **bad}), 1000 + i)
    df = greenops_tb.load_runs(logdir)
    assert sorted(df["seq"]) == [r.seq for r in good]
    done = cli_process("summary", str(logdir))
    assert done.returncode == 0 and "run: 2 malformed records skipped" in done.stderr, done.stderr


def test_verify_counts_the_records_the_event_files_hold(tmp_path: Path) -> None:
    """Records of one stage at one step: TensorBoard's loaders keep the last per step, the files hold all."""
    with constant_writer(tmp_path / "run", hash_chain=True) as w:
        w.start("train")
        for _ in range(4):
            w.update("train", step=5)
        w.stop("train", step=5)
    done = cli_process("verify", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr
    assert "OK: 5 rows, chain intact, matches the 5 records in the event files" in done.stdout


# --- properties: whatever is appended to a real green.csv, the readers keep its rows and never crash ---

_CELLS = st.lists(st.text(max_size=30), max_size=70)


def _summary_ok(path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["compare", str(path), str(path)])
    assert code == 0, err.getvalue()
    assert "energy" in out.getvalue()


def _check(good: Path, path: Path) -> None:
    want = _records(good)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got, _skipped, _first = read_records_counted(path)
        df = greenops_tb.read_csv(path)
        assert got[: len(want)] == want
        assert list(df["seq"])[: len(want)] == [r.seq for r in want]
        _summary_ok(path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(max_size=400))
def test_appended_bytes_never_crash_a_reader(good_csv: Path, tmp_path: Path, junk: bytes) -> None:
    path = tmp_path / "green.csv"
    path.write_bytes(good_csv.read_bytes() + junk)
    _check(good_csv, path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extra=st.lists(_CELLS, max_size=5))
def test_appended_rows_never_crash_a_reader(good_csv: Path, tmp_path: Path, extra: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(extra)
    path = tmp_path / "green.csv"
    path.write_bytes(good_csv.read_bytes() + buf.getvalue().encode("utf-8"))
    _check(good_csv, path)
