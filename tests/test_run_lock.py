"""One writer per run: real writers in one process, real processes started together, a holder killed with -9.

The CSV's rows are the ground truth: whatever happens, their seqs are unique and in order and the last
row's running total is the sum of the rows.
"""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pytest

from conftest import constant_writer
from greenops_tb.errors import GreenOpsError, RunInUseError
from greenops_tb.readers.csv import read_records
from greenops_tb.sinks.run_lock import LOCK_NAME

#: a writer in its own process: waits for ``go`` to exist, opens the run, says how that went (one JSON line),
#: records ``updates`` intervals, then waits for ``done`` to exist (``never``: holds the run until killed)
HOLDER = textwrap.dedent("""
    import json, os, sys, time
    from greenops_tb import ConstantPowerSource, GreenSummaryWriter
    from greenops_tb.errors import RunInUseError
    run, go, done, updates, csv = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "csv"
    while not os.path.exists(go):
        time.sleep(0.005)
    try:
        w = GreenSummaryWriter(run, country="DE", meters=[ConstantPowerSource({"cpu:0": 10.0})],
                               csv_path=None if csv else False)
    except RunInUseError as err:
        print(json.dumps({"pid": os.getpid(), "error": str(err)}), flush=True)
        sys.exit(0)
    print(json.dumps({"pid": os.getpid(), "error": None}), flush=True)
    w.start("train")
    for _ in range(updates):
        w.update("train")
    w.stop("train")  # returns once every record is on disk
    print(json.dumps({"recorded": True}), flush=True)
    while not os.path.exists(done):
        time.sleep(0.01)
    w.close()
""")


def _holders(tmp_path: Path, run: Path, n: int, updates: int = 20, csv: bool = True) -> list[subprocess.Popen]:
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return [subprocess.Popen([sys.executable, str(script), str(run), str(tmp_path / "go"), str(tmp_path / "done"),
                              str(updates), "csv" if csv else "events"], stdout=subprocess.PIPE, text=True, env=env)
            for _ in range(n)]


def _said(proc: subprocess.Popen) -> dict:
    line = proc.stdout.readline()
    assert line, f"the process said nothing (exit code {proc.poll()})"
    return json.loads(line)


def _check_rows(csv: Path) -> None:
    recs = read_records(csv)
    assert [r.seq for r in recs] == list(range(len(recs))), "no duplicate or interleaved seqs"
    assert math.isclose(recs[-1].run_energy_kwh, sum(r.energy_kwh for r in recs), rel_tol=1e-9)


def test_a_second_writer_in_one_process_takes_the_run_over(tmp_path):
    run = tmp_path / "run"
    first = constant_writer(run)
    first.start("train")
    first.update("train")  # the notebook cell is re-run with "train" still open
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        second = constant_writer(run)
    taking = [w for w in caught if "still open in this process" in str(w.message)]
    assert len(taking) == 1, [str(w.message) for w in caught]
    assert second.csv_path is not None
    with pytest.raises(RuntimeError, match="closed"):
        first.update("train")
    second.start("train")
    second.update("train")
    second.close()
    recs = read_records(run / "green.csv")
    assert [(r.stage, r.resume) for r in recs] == [("train", 0)] * 2 + [("train", 1)] * 2, \
        "the first writer's open stage was recorded when it was taken over, then the second continued"
    _check_rows(run / "green.csv")
    assert not (run / LOCK_NAME).exists(), "a closed writer removes its lock file"


def test_two_processes_started_together_one_writes_the_other_is_told_who(tmp_path):
    run = tmp_path / "run"
    procs = _holders(tmp_path, run, 2)
    time.sleep(0.2)
    (tmp_path / "go").touch()
    said = [_said(p) for p in procs]
    (tmp_path / "done").touch()
    for p in procs:
        assert p.wait(timeout=120) == 0
    winners = [s for s in said if s["error"] is None]
    losers = [s for s in said if s["error"] is not None]
    assert len(winners) == 1 and len(losers) == 1, said
    error = losers[0]["error"]
    assert f"process {winners[0]['pid']}" in error and "another log_dir=" in error and "wait" in error
    _check_rows(run / "green.csv")
    assert len(read_records(run / "green.csv")) == 21, "only the winner's records"


def test_the_event_files_are_protected_without_a_csv(tmp_path):
    run = tmp_path / "run"
    (holder,) = _holders(tmp_path, run, 1, csv=False)
    (tmp_path / "go").touch()
    assert _said(holder)["error"] is None
    files = sorted(os.listdir(run))
    with pytest.raises(RunInUseError, match=f"process {holder.pid}") as err:
        constant_writer(run, csv_path=False)
    assert isinstance(err.value, GreenOpsError)
    assert sorted(os.listdir(run)) == files, "the refused writer left no event file in the holder's run"
    (tmp_path / "done").touch()
    assert holder.wait(timeout=120) == 0
    constant_writer(run, csv_path=False).close()  # free once the holder closed


def test_a_holder_killed_with_sigkill_leaves_no_stale_lock(tmp_path):
    run = tmp_path / "run"
    (holder,) = _holders(tmp_path, run, 1, updates=5)
    (tmp_path / "go").touch()
    assert _said(holder)["error"] is None
    with pytest.raises(RunInUseError):
        constant_writer(run)
    assert json.loads(holder.stdout.readline()) == {"recorded": True}  # its stop() returned: 6 rows on disk
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=60)
    assert (run / LOCK_NAME).exists(), "the killed holder's lock file is still there..."
    with constant_writer(run) as w:  # ...but not its lock: the kernel released it
        w.start("train")
        w.stop("train")
    recs = read_records(run / "green.csv")
    assert [r.resume for r in recs] == [0] * 6 + [1]
    _check_rows(run / "green.csv")


def test_two_log_dirs_cannot_share_one_csv(tmp_path):
    shared = tmp_path / "reports" / "energy.csv"
    with constant_writer(tmp_path / "a", csv_path=str(shared)) as first:
        first.start("train")
        first.stop("train")
        assert (tmp_path / "reports" / ".energy.csv.lock").exists()
        with pytest.warns(RuntimeWarning, match="still open in this process"):
            second = constant_writer(tmp_path / "b", csv_path=str(shared))  # a re-run cell, another log dir
        assert first._closed and not (tmp_path / "a" / LOCK_NAME).exists()
    second.close()
    assert not (tmp_path / "reports" / ".energy.csv.lock").exists()
    _check_rows(shared)
