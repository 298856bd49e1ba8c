"""``greenops-tb verify``: a real hash-chained CSV passes untouched; every kind of tampering is caught."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from cli_runs import cli, rows, train_run


@pytest.fixture(scope="module")
def chained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run dir of a real training run written with hash_chain=True."""
    return train_run(tmp_path_factory.mktemp("chain") / "run_v", steps=12).parent


@pytest.fixture
def run_dir(chained: Path, tmp_path: Path) -> Path:
    """A private copy of the run dir (CSV + event files) to tamper with."""
    return Path(shutil.copytree(chained, tmp_path / "run_v"))


def _write(path: Path, table: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(table)


def test_untouched_file_passes_and_matches_its_events(run_dir, capsys):
    code, out, err = cli(capsys, "verify", str(run_dir / "green.csv"))
    n = len(rows(run_dir / "green.csv")) - 1
    assert code == 0, err
    assert f"OK: {n} rows, chain intact, matches the {n} records in the event files" in out


def test_a_run_whose_name_the_csv_neutralises_still_matches_its_events(tmp_path, capsys):
    from conftest import constant_writer

    w = constant_writer(tmp_path / "r", {"gpu:0": 100.0}, hash_chain=True, run_name="=model+v2")
    w.start("train")
    for _ in range(3):
        w.update("train")
    w.stop("train")
    w.close()
    assert rows(tmp_path / "r" / "green.csv")[1][0] == "'=model+v2"  # the spreadsheet guard
    code, out, err = cli(capsys, "verify", str(tmp_path / "r" / "green.csv"))
    assert code == 0 and "matches the 4 records in the event files" in out, out + err


def test_edited_cell_is_reported_at_its_row(run_dir, capsys):
    table = rows(run_dir / "green.csv")
    col = table[0].index("energy_kwh")
    table[5][col] = repr(float(table[5][col]) / 2)  # halve one interval's energy
    _write(run_dir / "green.csv", table)
    code, _, err = cli(capsys, "verify", str(run_dir / "green.csv"))
    assert code == 1 and "BROKEN at data row 5 (line 6)" in err


def test_deleted_row_is_reported_where_the_gap_is(run_dir, capsys):
    table = rows(run_dir / "green.csv")
    del table[4]
    _write(run_dir / "green.csv", table)
    code, _, err = cli(capsys, "verify", str(run_dir / "green.csv"))
    assert code == 1 and "BROKEN at data row 4 (line 5)" in err


def test_swapped_rows_are_reported_at_the_first(run_dir, capsys):
    table = rows(run_dir / "green.csv")
    table[3], table[4] = table[4], table[3]
    _write(run_dir / "green.csv", table)
    code, _, err = cli(capsys, "verify", str(run_dir / "green.csv"))
    assert code == 1 and "BROKEN at data row 3 (line 4)" in err


def test_file_truncated_mid_row_fails(run_dir, capsys):
    path = run_dir / "green.csv"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])  # cut inside the last row
    code, _, err = cli(capsys, "verify", str(path))
    n = len(data.splitlines()) - 2  # complete data rows left
    assert code == 1 and f"BROKEN after data row {n}" in err and "last line is incomplete" in err


def test_rows_cut_from_the_end_are_caught_by_the_event_files(run_dir, capsys):
    table = rows(run_dir / "green.csv")
    _write(run_dir / "green.csv", table[:-3])  # a clean cut: the chain itself is still valid
    code, _, err = cli(capsys, "verify", str(run_dir / "green.csv"))
    assert code == 1 and "3 of their rows are missing from the CSV" in err


def test_moved_csv_needs_events_to_detect_a_cut(run_dir, tmp_path, capsys):
    moved = tmp_path / "elsewhere" / "green.csv"
    moved.parent.mkdir()
    _write(moved, rows(run_dir / "green.csv")[:-2])
    code, out, _ = cli(capsys, "verify", str(moved))
    assert code == 0 and "pass --events RUN_DIR" in out
    code, _, err = cli(capsys, "verify", str(moved), "--events", str(run_dir))
    assert code == 1 and "2 of their rows are missing" in err


def test_unchained_missing_and_empty_files_exit_2(tmp_path, capsys):
    plain = train_run(tmp_path / "plain", steps=3, hash_chain=False)
    code, _, err = cli(capsys, "verify", str(plain))
    assert code == 2 and "written without hash_chain=True" in err
    code, _, err = cli(capsys, "verify", str(tmp_path / "nope.csv"))
    assert code == 2 and "no such file" in err
    (tmp_path / "empty.csv").write_text("")
    code, _, err = cli(capsys, "verify", str(tmp_path / "empty.csv"))
    assert code == 2 and "empty file" in err
