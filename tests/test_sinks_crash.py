"""kill -9 of a real training subprocess at random moments, against the crash contract
(:mod:`greenops_tb.recording.batch`): every record whose ``update()`` returned more than
:data:`~greenops_tb.recording.batch.CONTRACT_S` (100 ms) before the kill, and every record up to a
``stop()`` that returned, is in the CSV; nothing older is lost, no row is torn."""
from __future__ import annotations

import csv
import io
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

from greenops_tb.readers.csv import read_records, read_table
from greenops_tb.recording.batch import CONTRACT_S

#: each record the child closes prints "<kind> <n> <monotonic time>" once the call returned: its n-th record of
#: this opening (update: "u", stop: "s"); the child never reads the records back (that would build them at once)
CHILD = textwrap.dedent(
    """
    import sys, time, torch
    from greenops_tb import GreenSummaryWriter
    torch.manual_seed(0)
    model = torch.nn.Linear(8, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(64, 8)
    w = GreenSummaryWriter(sys.argv[1], country="FR", hash_chain=True, watch={"lr": opt})
    print("ready", flush=True)
    n = 0
    while True:
        w.start("train")
        for i in range(50):
            loss = model(x).pow(2).mean()
            opt.zero_grad(); loss.backward(); opt.step()
            w.update("train")
            print("u", n, time.monotonic(), flush=True)
            n += 1
        w.stop("train")
        print("s", n, time.monotonic(), flush=True)
        n += 1
    """
)


def _run_and_kill(run_dir: str, script: str, delay: float, *args: str) -> tuple[list[tuple[str, int, float]], float]:
    """The child's completed records (kind, n, when its call returned) and when it was killed."""
    proc = subprocess.Popen([sys.executable, script, run_dir, *args], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(delay)
    killed = time.monotonic()
    os.kill(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    lines = [ln.split() for ln in out.splitlines(keepends=True) if ln.endswith("\n")]  # the last one may be cut
    return [(k, int(n), float(t)) for k, n, t in lines], killed


def _kept_by_contract(done: list[tuple[str, int, float]], killed: float, first_seq: int) -> set[int]:
    """The seqs the contract keeps: records older than CONTRACT_S at the kill, and all up to the last stop()."""
    old = [n for _, n, t in done if t < killed - CONTRACT_S]
    stops = [n for k, n, _ in done if k == "s"]
    last = max(old + stops, default=-1)
    return {first_seq + n for n in range(last + 1)}


def test_kill_9_keeps_every_record_older_than_the_window(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    rng = random.Random(1234)
    run_dir = str(tmp_path / "run")
    path = os.path.join(run_dir, "green.csv")
    total = 0
    for attempt in range(5):  # the same run re-opened after each crash: appends under one header
        done, killed = _run_and_kill(run_dir, str(script), rng.uniform(0.3, 0.9))
        recs = read_records(path)
        seqs = [r.seq for r in recs]
        assert seqs == list(range(len(seqs))), f"attempt {attempt}: seq gap or duplicate"
        must = _kept_by_contract(done, killed, total)
        assert len(must) > 0, f"attempt {attempt}: the child ran long enough to have old records"
        assert must <= set(seqs), f"attempt {attempt}: a record older than {CONTRACT_S} s is missing"
        assert len(seqs) <= total + len(done) + 1, "no record the child did not make"
        total = len(seqs)
        header, rows = read_table(path)
        assert all(len(r) == len(header) for r in rows)
        with open(path, "rb") as f:
            data = f.read()
        assert data.count(b"run,stage,seq") == 1  # one header
        # every newline ends one complete line (header + each row the reader returned): whatever follows the
        # last newline is the only incomplete line (no row), and the reader dropped it
        assert data.count(b"\n") == 1 + len(rows)
        tail = data[data.rfind(b"\n") + 1:]
        assert not tail or len(next(csv.reader([tail.decode("utf-8", "replace")]))) <= len(header)
    assert total > 0
    # the hash chain survived all crashes and re-opens
    from greenops_tb.format.hashchain import verify

    header, rows = read_table(path)
    check = verify(header, rows)
    assert check.ok, check.message
    # the strict csv module parses the complete part as RFC 4180
    with open(path, newline="", encoding="utf-8") as f:
        text = f.read()
    complete = text[: text.rfind("\n") + 1]
    parsed = list(csv.reader(io.StringIO(complete, newline=""), strict=True))
    assert len(parsed) == len(rows) + 1


def test_stop_flush_and_close_return_with_everything_on_disk(tmp_path):
    """No waiting: the CSV and the event file hold every record the moment these calls return."""
    import glob
    import json

    from conftest import constant_writer
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto import event_pb2

    def event_seqs() -> list[int]:
        (path,) = glob.glob(str(tmp_path / "run" / "events.out.tfevents.*"))
        values = [v for data in RawEventFileLoader(path).Load() for v in event_pb2.Event.FromString(data).summary.value]
        return sorted(json.loads(v.tensor.string_val[0])["seq"] for v in values if v.tag.endswith("/record"))

    w = constant_writer(tmp_path / "run")
    csv_path = tmp_path / "run" / "green.csv"
    w.start("train")
    for _ in range(5):
        w.update("train")
    w.flush()
    assert [r.seq for r in read_records(csv_path)] == list(range(5)) and event_seqs() == list(range(5))
    w.update("train")
    w.stop("train")
    assert [r.seq for r in read_records(csv_path)] == list(range(7))
    assert event_seqs() == list(range(7))
    w.start("eval")
    w.update("eval")
    w.close()
    assert [r.seq for r in read_records(csv_path)] == list(range(9))


OPENING = textwrap.dedent(
    """
    import sys, time, torch
    from greenops_tb import GreenSummaryWriter
    torch.manual_seed(0)
    model = torch.nn.Linear(8, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(64, 8)
    updates = int(sys.argv[2])  # 0: forever (until killed)
    w = GreenSummaryWriter(sys.argv[1], country="FR", hash_chain=True)
    print("ready", flush=True)
    w.start("train")
    i = 0
    while updates == 0 or i < updates:
        loss = model(x).pow(2).mean()
        opt.zero_grad(); loss.backward(); opt.step()
        w.update("train")
        print("u", i, time.monotonic(), flush=True)
        i += 1
    w.close()
    """
)


def test_kill_9_during_a_resumed_opening_keeps_one_verifiable_run(tmp_path, capsys):
    """Opening 0 closes normally, opening 1 is killed mid-run, opening 2 closes normally: one run whose every
    completed row is kept, whose chain verifies, and whose summary total is the CSV's sum."""
    import json
    import math

    from cli_runs import cli

    script = tmp_path / "opening.py"
    script.write_text(OPENING)
    run_dir = tmp_path / "logs" / "run_k"
    path = run_dir / "green.csv"
    subprocess.run([sys.executable, str(script), str(run_dir), "30"], check=True, capture_output=True, timeout=120)
    done, killed = _run_and_kill(str(run_dir), str(script), 0.6, "0")
    before = 30 + 1  # opening 0: 30 updates and the stop of close()
    kept = _kept_by_contract(done, killed, before)
    assert kept, "the killed opening completed some updates more than the window before the kill"
    subprocess.run([sys.executable, str(script), str(run_dir), "10"], check=True, capture_output=True, timeout=120)

    recs = read_records(path)
    seqs = [r.seq for r in recs]
    assert seqs == list(range(len(seqs))) and kept <= set(seqs), "every record older than the window kept, no gap"
    assert {r.resume for r in recs} == {0, 1, 2} and [r.resume for r in recs] == sorted(r.resume for r in recs)
    steps = [r.step for r in recs]
    assert steps == list(range(len(steps))), "steps continue across openings (nothing for TensorBoard to purge)"
    code, out, err = cli(capsys, "verify", str(path))
    assert code == 0, (out, err)
    code, out, err = cli(capsys, "summary", str(run_dir.parent), "--json")
    assert code == 0, err
    (s,) = json.loads(out)
    assert math.isclose(s["totals"]["energy_kwh"], sum(r.energy_kwh for r in recs), rel_tol=1e-9)


def test_update_records_reach_the_files_without_any_flush(tmp_path):
    """The background thread writes them (kill -9 above bounds how late); the returned PendingRecord gives
    the record's fields, the same as its CSV row."""
    from conftest import constant_writer

    w = constant_writer(tmp_path / "run")
    csv_path = tmp_path / "run" / "green.csv"
    w.start("train")
    pending = [w.update("train", samples=4) for _ in range(3)]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (not csv_path.exists() or len(read_records(csv_path)) < 3):
        time.sleep(0.01)
    recs = read_records(csv_path)
    assert [r.seq for r in recs] == [0, 1, 2]
    assert [(p.seq, p.samples, p.energy_kwh) for p in pending] == [(r.seq, r.samples, r.energy_kwh) for r in recs]
    assert pending[0].record.stage == "train"
    w.close()
