"""Re-opening a run at any width, with any bytes and any csv_columns=, reading O(1) rows (issue 23).

Real writers and a real torch model write the files; damage is done to the bytes on disk, as a crash, a
disk or a hand edit would; readers are the real CLI and the CSV reader. The CSV's rows are the ground truth.
"""
from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_runs import cli
from conftest import constant_writer
from greenops_tb.errors import ResumeError
from greenops_tb.readers.csv import read_records
from greenops_tb.recording import resume
from greenops_tb.recording.checkpoint import path_for


def _opening(run: Path, updates: int, **kw) -> None:
    with constant_writer(run, **kw) as w:
        w.start("train")
        for _ in range(updates):
            w.update("train")
        w.stop("train")


def _lines(csv: Path) -> list[bytes]:
    return csv.read_bytes().split(b"\r\n")[:-1]


def _set_cell(csv: Path, row: int, column: str, text: str) -> None:
    """Write ``text`` into data row ``row`` (-1: the last) of ``csv``, column ``column``."""
    lines = _lines(csv)
    header = lines[0].decode().split(",")
    cells = lines[row].decode().split(",")  # the numeric columns come before any quoted text with commas
    cells[header.index(column)] = text
    lines[row] = ",".join(cells).encode()
    csv.write_bytes(b"".join(line + b"\r\n" for line in lines))


def _rchar() -> int:
    """Bytes this process has read with read(2)/pread(2) so far (Linux /proc/self/io)."""
    with open("/proc/self/io") as f:
        return int(next(line for line in f if line.startswith("rchar:")).split()[1])


def test_a_header_wider_than_64_kib_is_continued(tmp_path):
    """High 1: about 1,100 watched values (per-parameter gradient norms) made a header > 64 KiB."""
    model = torch.nn.Sequential(*[torch.nn.Linear(2, 2) for _ in range(600)])
    watch = {f"gradient_norm/model.transformer_encoder.{name}": (lambda p=p: 0.0 if p.grad is None
                                                                 else float(p.grad.norm()))
             for name, p in model.named_parameters()}
    run = tmp_path / "run"
    for _ in range(2):
        with constant_writer(run, watch=watch) as w:
            w.start("train")
            for _ in range(3):
                model(torch.ones(1, 2)).sum().backward()
                w.update("train")
            w.stop("train")
    header = (run / "green.csv").read_bytes().split(b"\n", 1)[0]
    assert len(header) > 65536 and len(watch) > 1100
    recs = read_records(run / "green.csv")
    assert [r.seq for r in recs] == list(range(8)) and [r.resume for r in recs] == [0] * 4 + [1] * 4
    assert math.isclose(recs[-1].run_energy_kwh, sum(r.energy_kwh for r in recs), rel_tol=1e-9)
    assert recs[-1].watched["gradient_norm/model.transformer_encoder.599.bias"] > 0


def test_csv_columns_narrowed_keeps_the_whole_run_over_three_openings(tmp_path, capsys):
    """Medium 5: with csv_columns= narrowed the running totals restarted at every opening (34% after 3)."""
    run = tmp_path / "logs" / "run"
    for updates in (20, 5, 5):
        _opening(run, updates, csv_columns=["energy_kwh"])
    recs = read_records(run / "green.csv")
    assert [r.resume for r in recs] == [0] * 21 + [1] * 6 + [2] * 6
    code, out, err = cli(capsys, "summary", str(run.parent), "--json", "--loader", "python")
    assert code == 0, err
    (summary,) = json.loads(out)
    assert math.isclose(summary["totals"]["energy_kwh"], sum(r.energy_kwh for r in recs), rel_tol=1e-9)


def test_a_csv_without_the_run_totals_is_refused_unchanged(tmp_path):
    """A CSV narrowed by an older greenops_tb (no run totals, no checkpoint) cannot be continued exactly."""
    run = tmp_path / "run"
    run.mkdir()
    csv = run / "green.csv"
    csv.write_bytes(b"run,stage,seq,step,energy_kwh\r\nrun,train,0,0,0.001\r\nrun,train,1,1,0.001\r\n")
    before = csv.read_bytes()
    with pytest.raises(ResumeError, match="cannot be continued.*run_energy_kwh.*new log_dir="):
        constant_writer(run)
    assert csv.read_bytes() == before


@pytest.mark.parametrize("bad", ["nan", "inf", "-0.5", "1e308"])
def test_impossible_running_totals_are_not_carried(tmp_path, capsys, bad):
    """Medium 6: a NaN, inf, negative or 1e308 running total in the last row went into every new record
    and into the model card."""
    run = tmp_path / "run"
    _opening(run, 10)
    csv = run / "green.csv"
    _set_cell(csv, -1, "run_co2_kg", bad)
    _set_cell(csv, -1, "run_energy_kwh", bad)
    with pytest.warns(RuntimeWarning, match="re-opening"):
        _opening(run, 3)
    recs = read_records(csv)
    last = recs[-1]
    # the damaged row (seq 10) is skipped when its totals are not numbers >= 0; 1e308 is replaced by the rows' sum
    kept = [r for r in recs if r.seq != 10 or bad == "1e308"]
    assert last.resume == 1 and math.isfinite(last.run_co2_kg)
    assert math.isclose(last.run_energy_kwh, sum(r.energy_kwh for r in kept), rel_tol=1e-9)
    code, out, err = cli(capsys, "report", str(csv), "--format", "model-card")
    assert code == 0, err
    emissions = float(next(ln for ln in out.splitlines() if ln.strip().startswith("emissions:")).split(":")[1])
    assert math.isfinite(emissions) and math.isclose(emissions, last.run_co2_kg * 1000, rel_tol=1e-3)


def test_undecodable_bytes_are_skipped_and_counted_on_reopening(tmp_path):
    """Medium 4: one non-UTF-8 byte in the last row made re-opening raise a raw UnicodeDecodeError."""
    run = tmp_path / "run"
    _opening(run, 5, run_name="runé")
    csv = run / "green.csv"
    data = csv.read_bytes()
    at = data.rindex("runé".encode())
    csv.write_bytes(data[:at + 3] + b"\xff" + data[at + 5:])  # é's two bytes -> one undecodable byte
    with pytest.warns(RuntimeWarning, match="1 unreadable rows skipped .*not UTF-8"):
        _opening(run, 2, run_name="runé")
    lines = _lines(csv)[1:]
    seqs = [int(line.split(b",")[2]) for line in lines]
    assert seqs == list(range(len(lines))), "seq continues after the damaged row (its seq is still readable)"


def test_reopening_reads_only_the_end_of_a_long_run(tmp_path):
    """Medium 7: re-opening read (and held) the whole CSV; now the header, the checkpoint and the last row."""
    run = tmp_path / "run"
    _opening(run, 3000)
    size = (run / "green.csv").stat().st_size
    before = _rchar()
    state = resume.from_csv(run / "green.csv")
    read = _rchar() - before
    assert state is not None and state.run.records == 3001 and state.stages["train"].next_step == 3001
    assert size > 2 << 20 and read < 512 << 10, f"{read} bytes read to re-open a {size}-byte CSV"
    with constant_writer(run):  # the writer's whole re-opening too
        pass
    assert _rchar() - before - read < size // 4


def test_a_checkpoint_that_no_longer_matches_is_not_trusted(tmp_path):
    run = tmp_path / "run"
    _opening(run, 10)
    _opening(run, 10)
    csv = run / "green.csv"
    doc = json.loads(Path(path_for(str(csv))).read_text())
    doc["resumed"]["run"]["kwh"] = 5.0  # a checkpoint that says more than the rows
    Path(path_for(str(csv))).write_text(json.dumps(doc))
    with pytest.warns(RuntimeWarning, match="checkpoint does not match it .*run totals differ"):
        _opening(run, 1)
    _set_cell(csv, -1, "duration_s", "0.0")  # a CSV changed since its checkpoint was written
    with pytest.warns(RuntimeWarning, match="checkpoint does not match it"):
        _opening(run, 1)
    recs = read_records(csv)
    assert math.isclose(recs[-1].run_energy_kwh, sum(r.energy_kwh for r in recs), rel_tol=1e-9)


@pytest.fixture(scope="module")
def closed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("hostile") / "run"
    _opening(run, 5)
    return run


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.lists(st.binary(max_size=300), min_size=1, max_size=4))
def test_any_bytes_after_the_checkpoint_never_crash_a_reopening(closed_run, tmp_path, garbage):
    """Any bytes a crash or a disk could leave: every row that is not one is skipped and counted."""
    csv = tmp_path / "green.csv"
    csv.write_bytes((closed_run / "green.csv").read_bytes() + b"\n".join(garbage) + b"\n")
    Path(path_for(str(csv))).write_bytes(Path(path_for(str(closed_run / "green.csv"))).read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        state = resume.from_csv(csv)
    assert state is not None and state.run.records >= 6
    for seed in [state.run, *state.stages.values()]:
        resume.check_seed(seed)
        assert seed.kwh < 1.0
    os.unlink(path_for(str(csv)))


CRASHING = """
import sys
from greenops_tb import ConstantPowerSource, GreenSummaryWriter
from greenops_tb.recording import checkpoint
checkpoint.EVERY_S = 0.0  # a checkpoint at every record
w = GreenSummaryWriter(sys.argv[1], country="DE", meters=[ConstantPowerSource({"cpu:0": 10.0})])
w.start("train")
for _ in range(int(sys.argv[2])):
    w.update("train")
w.flush()  # every record on disk, and checkpointed (a crash may lose only what the last 100 ms queued)
print("recorded", flush=True)
sys.stdin.readline()  # killed here, never closed
"""


def test_a_crashed_opening_is_continued_from_its_last_checkpoint(tmp_path):
    """While it records, a writer checkpoints (every checkpoint.EVERY_S): a kill -9 costs the next opening
    only the rows after the last checkpoint."""
    import signal
    import subprocess
    import sys

    run = tmp_path / "run"
    script = tmp_path / "crashing.py"
    script.write_text(CRASHING)
    proc = subprocess.Popen([sys.executable, str(script), str(run), "4000"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.stdout.readline().strip() == "recorded"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    before = _rchar()
    state = resume.from_csv(run / "green.csv")
    assert _rchar() - before < 512 << 10 < (run / "green.csv").stat().st_size // 4
    assert state is not None and state.run.records == 4000 and state.index == 1
    _opening(run, 2)
    recs = read_records(run / "green.csv")
    assert [r.seq for r in recs] == list(range(4003))
    assert math.isclose(recs[-1].run_energy_kwh, sum(r.energy_kwh for r in recs), rel_tol=1e-9)


@pytest.mark.parametrize("column", ["energy_kwh", "duration_s", "co2_kg"])
def test_an_impossible_interval_is_skipped_not_summed(tmp_path, column):
    """A finite but impossible interval (1e308 kWh, s or kg) is damage: skipped and counted, never carried."""
    run = tmp_path / "run"
    _opening(run, 10)
    csv = run / "green.csv"
    _set_cell(csv, 5, column, "1e308")
    _set_cell(csv, -1, "duration_s", "0.1")  # the checkpoint no longer matches: every row is read
    with pytest.warns(RuntimeWarning, match="1 unreadable rows skipped .*row at byte"):
        _opening(run, 2)
    last = read_records(csv)[-1]
    assert last.resume == 1 and last.run_energy_kwh < 1 and last.run_co2_kg < 1 and last.run_duration_s < 3600
