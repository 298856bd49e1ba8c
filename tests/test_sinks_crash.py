"""kill -9 of a real training subprocess at random moments: the CSV keeps every completed row."""
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

CHILD = textwrap.dedent(
    """
    import sys, torch
    from greenops_tb import GreenSummaryWriter
    torch.manual_seed(0)
    model = torch.nn.Linear(8, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(64, 8)
    w = GreenSummaryWriter(sys.argv[1], country="FR", hash_chain=True, watch={"lr": opt})
    print("ready", flush=True)
    epoch = 0
    while True:
        w.start("train")
        for i in range(50):
            loss = model(x).pow(2).mean()
            opt.zero_grad(); loss.backward(); opt.step()
            rec = w.update("train")
            print(rec.seq, flush=True)  # this seq is complete: it must survive the kill
        print(w.stop("train").seq, flush=True)
        epoch += 1
    """
)


def _run_and_kill(run_dir: str, script: str, delay: float) -> list[int]:
    proc = subprocess.Popen([sys.executable, script, run_dir], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return [int(line) for line in out.split()]  # a half-printed last number is at worst one digit short


def test_kill_9_keeps_every_completed_row(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    rng = random.Random(1234)
    run_dir = str(tmp_path / "run")
    path = os.path.join(run_dir, "green.csv")
    total_done = 0
    for attempt in range(5):  # the same run re-opened after each crash: appends under one header
        done = _run_and_kill(run_dir, str(script), rng.uniform(0.05, 0.6))
        recs = read_records(path)
        seqs = [r.seq for r in recs]
        assert seqs == list(range(len(seqs))), f"attempt {attempt}: seq gap or duplicate"
        assert set(done[:-1]) <= set(seqs), f"attempt {attempt}: a completed row is missing"
        assert len(seqs) >= total_done + len(done) - 1
        total_done = len(seqs)
        header, rows = read_table(path)
        assert all(len(r) == len(header) for r in rows)
        with open(path, "rb") as f:
            data = f.read()
        assert data.count(b"run,stage,seq") == 1  # one header
        # every newline ends one complete line (header + each row the reader returned): whatever follows the
        # last newline is the only incomplete line, and the reader dropped it
        assert data.count(b"\n") == 1 + len(rows)
        tail = data[data.rfind(b"\n") + 1:]
        assert not tail or len(next(csv.reader([tail.decode("utf-8", "replace")]))) <= len(header)
    assert total_done > 0
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


OPENING = textwrap.dedent(
    """
    import sys, torch
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
        print(w.update("train").seq, flush=True)
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
    proc = subprocess.Popen([sys.executable, str(script), str(run_dir), "0"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.4)
    os.kill(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=30)
    done = [int(s) for s in out.split()][:-1]  # the last printed number may be cut
    assert done, "the killed opening completed some updates"
    subprocess.run([sys.executable, str(script), str(run_dir), "10"], check=True, capture_output=True, timeout=120)

    recs = read_records(path)
    seqs = [r.seq for r in recs]
    assert seqs == list(range(len(seqs))) and set(done) <= set(seqs), "every completed row kept, no gap"
    assert {r.resume for r in recs} == {0, 1, 2} and [r.resume for r in recs] == sorted(r.resume for r in recs)
    steps = [r.step for r in recs]
    assert steps == list(range(len(steps))), "steps continue across openings (nothing for TensorBoard to purge)"
    code, out, err = cli(capsys, "verify", str(path))
    assert code == 0, (out, err)
    code, out, err = cli(capsys, "summary", str(run_dir.parent), "--json")
    assert code == 0, err
    (s,) = json.loads(out)
    assert math.isclose(s["totals"]["energy_kwh"], sum(r.energy_kwh for r in recs), rel_tol=1e-9)
