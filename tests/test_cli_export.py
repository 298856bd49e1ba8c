"""``greenops-tb export``: event files back into the live CSV's schema, and clear errors for bad input."""
from __future__ import annotations

import dataclasses
import io
import json
import sys
from pathlib import Path

import pytest
from torch.utils.tensorboard import SummaryWriter

from cli_runs import cli, cli_process, rows, train_run
from conftest import require
from greenops_tb.readers import data_server
from greenops_tb.readers.csv import read_records
from greenops_tb.format.schema import SPLIT_FIELDS, Record
from greenops_tb.readers.runs import Progress

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from gen_logdir import GenSpec, generate  # noqa: E402

LOADERS = ["server", "python"]


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(logdir, live CSV) of a real GreenSummaryWriter training run."""
    logdir = tmp_path_factory.mktemp("logs")
    return logdir, train_run(logdir / "run_a", steps=25)


def _need(loader: str) -> None:
    if loader == "server":
        require(data_server.available(), "tensorboard-data-server binary")


@pytest.mark.parametrize("loader", LOADERS)
def test_export_equals_live_csv_row_for_row(real_run, tmp_path, capsys, loader):
    _need(loader)
    logdir, live = real_run
    out = tmp_path / "export.csv"
    code, _, err = cli(capsys, "export", str(logdir), "-o", str(out), "--loader", loader)
    assert code == 0, err
    exported, original = rows(out), rows(live)
    assert exported[0] == original[0]  # same columns, same order (watch:loss, chain_hash included)
    assert len(exported) == len(original) > 20
    for got, want in zip(exported[1:], original[1:]):
        assert got == want  # identical cells: the same formatting rules on the same numbers
    assert f"wrote {len(original) - 1} records from 1 run(s)" in err


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_export_json_formats_carry_the_same_records(real_run, tmp_path, capsys, fmt):
    logdir, live = real_run
    out = tmp_path / f"export.{fmt}"
    code, _, err = cli(capsys, "export", str(logdir), "-o", str(out))  # format from the extension
    assert code == 0, err
    text = out.read_text()
    objs = [json.loads(line) for line in text.splitlines()] if fmt == "jsonl" else json.loads(text)
    exported = [Record.from_json(o) for o in objs]
    assert [r.seq for r in exported] == [r.seq for r in read_records(live)]
    for got, want in zip(exported, read_records(live)):  # all but the running splits, which only events carry
        assert dataclasses.replace(got, **{f: {} for f in SPLIT_FIELDS}) == want


def test_export_filters_runs_and_stages_to_stdout(tmp_path, capsys):
    generate(tmp_path, GenSpec(runs=3, records=60, eval_every=5))
    code, out, err = cli(capsys, "export", str(tmp_path), "--runs", "run_00[12]", "--stages", "eval")
    assert code == 0, err
    table = list(__import__("csv").reader(io.StringIO(out)))
    header, body = table[0], table[1:]
    assert {r[header.index("run")] for r in body} == {"run_001", "run_002"}
    assert {r[header.index("stage")] for r in body} == {"eval"}
    assert len(body) == 2 * 10  # one eval after every 5 train records: 10 of 60 per run


def _corrupt_logdir(root: Path) -> Path:
    (root / "run").mkdir(parents=True)
    (root / "run" / "events.out.tfevents.123.host").write_bytes(b"\x00garbage that is not a TFRecord" * 50)
    return root


def _plain_tensorboard_logdir(root: Path) -> Path:
    with SummaryWriter(str(root / "plain")) as w:
        w.add_scalar("loss", 1.0, 0)
    return root


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda p: p / "does-not-exist", "no such directory"),
        (lambda p: (p.mkdir(), p)[1], "no TensorBoard event files"),
        (_plain_tensorboard_logdir, "no green data"),
        (_corrupt_logdir, "no green data"),
    ],
    ids=["missing", "empty", "not-green", "corrupt"],
)
@pytest.mark.parametrize("loader", LOADERS)
def test_export_bad_input_exits_2_with_a_clear_message(tmp_path, capsys, make, expected, loader):
    _need(loader)
    out = tmp_path / "out.csv"
    code, stdout, err = cli(capsys, "export", str(make(tmp_path / "in")), "-o", str(out), "--loader", loader)
    assert code == 2
    assert expected in err and "greenops-tb export:" in err
    assert not out.exists() and stdout == ""


def test_export_unmatched_run_pattern_names_the_runs(real_run, capsys):
    code, _, err = cli(capsys, "export", str(real_run[0]), "--runs", "nope*")
    assert code == 2 and "no run matches 'nope*'" in err and "run_a" in err


def test_export_does_not_clobber_an_output_on_failure(tmp_path, capsys):
    out = tmp_path / "keep.csv"
    out.write_text("precious\n")
    code, _, _ = cli(capsys, "export", str(tmp_path / "missing"), "-o", str(out))
    assert code == 2 and out.read_text() == "precious\n"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_only_on_a_terminal():
    tty, pipe = _Tty(), io.StringIO()
    for stream in (tty, pipe):
        p = Progress(3, "export runs", stream=stream, min_interval_s=0.0)
        for _ in range(3):
            p.update(1, "run")
        p.close("9 records")
    assert "export runs: 3/3 (100%)" in tty.getvalue() and "9 records" in tty.getvalue()
    assert pipe.getvalue() == ""


def test_console_entry_point_help_lists_the_commands():
    proc = cli_process("export", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "--format" in proc.stdout and "--runs" in proc.stdout and "--stages" in proc.stdout
