"""GreenSummaryWriter in a real 2-process gloo job: job totals, host-level energy once, rank 0 writes,
the Green tab's routes show the per-rank breakdown, a killed rank ends in a clear error."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from distributed_harness import init_group, spawn  # noqa: E402

THIS = Path(__file__).resolve()
TIMEOUT_S = 4.0
GPU_W = {0: 100.0, 1: 200.0}  # each rank's GPU draws a known constant power
HOST_W = {"cpu:0": 30.0, "ram": 5.0}  # the host's CPU and RAM, to be counted once


def worker(scenario: str, out_dir: str) -> None:
    from greenops_tb import GreenSummaryWriter
    from greenops_tb.distributed import DistributedError
    from greenops_tb.meters.constant import ConstantPowerSource

    init_group()
    import torch.distributed as dist

    rank = dist.get_rank()

    class GpuWithContext(ConstantPowerSource):
        def context(self):  # what NVML's sampler would report: memory in use, a gauge
            return [{"mem_used_gb": 10.0 + rank}]

    meters = [GpuWithContext({"gpu:0": GPU_W[rank]}, label="test-gpu"),
              ConstantPowerSource(HOST_W, label="test-host")]
    w = GreenSummaryWriter(str(Path(out_dir, "job")), country="DE", meters=meters, dist_timeout_s=TIMEOUT_S,
                           dist_flush_every=2)
    result: dict = {"rank": rank}
    if scenario == "job":
        w.add_scalar("loss", 1.0, 0)  # a plain SummaryWriter call: rank 0 writes it, rank 1 drops it
        w.start("train")
        for _ in range(4):
            time.sleep(0.05)
            w.update("train")
        w.stop("train")
        clock = time.perf_counter
        o0 = clock()  # this rank's own reads for eval happen inside [o0, i0] and [i1, o1]
        with w.stage("eval"):
            i0 = clock()
            time.sleep(0.15)
            i1 = clock()
        o1 = clock()
        w.start("tail")  # left open: close() stops it, exchanging like any stop
        i2 = clock()
        time.sleep(0.1)
        i3 = clock()
        w.close()
        result["windows"] = {"eval": [o0, i0, i1, o1], "tail": [o1, i2, i3, clock()]}
        t = w.totals()
        result["totals"] = {n: s.energy_kwh for n, s in t.stages.items()} | {"total": t.total.energy_kwh}
        dist.destroy_process_group()
    elif scenario == "killed":
        w.start("train")
        if rank == 1:
            import os

            Path(out_dir, "rank1-mid-stage").write_text("x")
            os._exit(9)
        time.sleep(0.3)
        t0 = time.perf_counter()
        try:
            w.stop("train")
        except DistributedError as err:
            result["error"] = {"type": type(err).__name__, "message": str(err), "seconds": time.perf_counter() - t0}
        t1 = time.perf_counter()
        w.close()  # records the still-open stage with this rank's energy; must not wait again
        result["close_seconds"] = time.perf_counter() - t1
    Path(out_dir, f"rank{rank}.json").write_text(json.dumps(result))


def _run(tmp_path: Path, scenario: str):
    res = spawn(THIS, [scenario, str(tmp_path)], world=2, deadline_s=60)
    outs = {r.rank: json.loads((tmp_path / f"rank{r.rank}.json").read_text())
            if (tmp_path / f"rank{r.rank}.json").exists() else None for r in res}
    return res, outs


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("ddp")
    res, outs = _run(tmp, "job")
    assert all(r.returncode == 0 for r in res), [r.stderr[-3000:] for r in res]
    return tmp / "job", outs


def test_job_totals_are_sums_of_ranks_and_host_energy_counted_once(job) -> None:
    from greenops_tb.distributed import energy_by_rank
    from greenops_tb.readers.csv import read_records

    log_dir, outs = job
    recs = read_records(log_dir / "green.csv")
    assert [r.stage for r in recs] == ["train"] * 5 + ["eval", "tail"]
    for r in recs:
        # rank 1's CPU/RAM source was dropped: the host is measured once, by rank 0
        assert set(r.devices) == {"r0/gpu:0", "r0/cpu:0", "r0/ram", "r1/gpu:0"}
        assert r.energy_kwh == pytest.approx(sum(d.energy_kwh for d in r.devices.values()), rel=1e-9)
        # rank 0's device context is current; rank 1's arrives with the exchanges (keys agreed at the first one)
        assert r.devices["r0/gpu:0"].context == {"mem_used_gb": 10.0}
        assert r.devices["r1/gpu:0"].context in ({}, {"mem_used_gb": 11.0})
    assert recs[-1].devices["r1/gpu:0"].context == {"mem_used_gb": 11.0}, "other ranks' context is exchanged"
    # eval starts and stops with an exchange: every rank's energy is exact for its own interval
    ev, tail = recs[-2:]
    assert ev.devices["r0/gpu:0"].energy_kwh * 3.6e6 == pytest.approx(100.0 * ev.duration_s, rel=1e-3)
    assert ev.devices["r0/cpu:0"].energy_kwh * 3.6e6 == pytest.approx(30.0 * ev.duration_s, rel=1e-3)
    # rank 1 read its own meter at its own boundaries: 200 W x the time rank 1 measured around them (the ranks
    # reach a boundary at different moments, more so on a loaded machine)
    for rec, name in ((ev, "eval"), (tail, "tail")):
        o0, i0, i1, o1 = outs[1]["windows"][name]
        assert 200.0 * (i1 - i0) <= rec.devices["r1/gpu:0"].energy_kwh * 3.6e6 <= 200.0 * (o1 - o0), name
    # train exchanged at start, every 2nd update and stop: the stage total holds all of rank 1's energy
    train = [r for r in recs if r.stage == "train"]
    by_rank = energy_by_rank({k: v for k, v in _summed(train).items()})
    dur = train[-1].stage_duration_s
    assert by_rank[0] * 3.6e6 == pytest.approx((100.0 + 35.0) * dur, rel=1e-3)
    assert by_rank[1] * 3.6e6 == pytest.approx(200.0 * dur, rel=0.1)
    # every rank ends with the same job totals (its own exchanged view), rank 0's equal the CSV
    t0, t1 = outs[0]["totals"], outs[1]["totals"]
    for k in t0:
        assert t1[k] == pytest.approx(t0[k], rel=1e-9), k
    assert t0["train"] == pytest.approx(train[-1].stage_energy_kwh, rel=1e-12)
    assert t0["total"] == pytest.approx(recs[-1].run_energy_kwh, rel=1e-12)


def _summed(recs):
    from greenops_tb.format.schema import DeviceEnergy

    out: dict = {}
    for r in recs:
        for k, d in r.devices.items():
            prev = out.get(k)
            out[k] = DeviceEnergy(d.kind, (prev.energy_kwh if prev else 0.0) + d.energy_kwh, d.provenance)
    return out


def test_only_rank_zero_writes_and_metadata_names_ranks_and_hosts(job) -> None:
    from tensorboard.context import RequestContext

    from greenops_tb.readers.events import local_provider, read_runs

    log_dir, _ = job
    files = sorted(p.name for p in log_dir.iterdir())
    assert len([f for f in files if f.startswith("events.out.tfevents")]) == 1, files
    assert "green.csv" in files
    (run,) = read_runs(local_provider(str(log_dir)), RequestContext(), "").values()
    assert [r.stage for r in run.records] == ["train"] * 5 + ["eval", "tail"]
    extra = run.metadata.extra
    assert extra["world_size"] == 2 and len(extra["hosts"]) == 1 and list(extra["hosts"].values()) == [[0, 1]]
    assert [r["devices"] for r in extra["ranks"]] == [["r0/gpu:0", "r0/cpu:0", "r0/ram"], ["r1/gpu:0"]]
    assert set(run.metadata.devices) == {"r0/gpu:0", "r0/cpu:0", "r0/ram", "r1/gpu:0"}


def test_green_tab_routes_show_the_per_rank_breakdown(job) -> None:
    from tensorboard.backend import application
    from tensorboard.plugins import base_plugin
    from werkzeug.test import Client

    from greenops_tb.plugin.loader import GreenLoader
    from greenops_tb.readers.csv import read_records
    from greenops_tb.readers.events import local_provider

    log_dir, _ = job
    provider = local_provider(str(log_dir.parent))
    plugin = GreenLoader().load(base_plugin.TBContext(data_provider=provider))
    c = Client(application.TensorBoardWSGI([plugin], data_provider=provider))
    r = c.get("/data/plugin/green/summary?run=job")
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    s = json.loads(r.get_data(as_text=True))
    devices = {d["device"]: d["energy_kwh"] for d in s["devices"]}
    want = _summed(read_records(log_dir / "green.csv"))
    assert set(devices) == set(want)
    for k, d in want.items():
        assert devices[k] == pytest.approx(d.energy_kwh, rel=1e-6), k
    assert s["totals"]["energy_kwh"] == pytest.approx(sum(devices.values()), rel=1e-6)


def test_killed_rank_ends_the_others_with_a_clear_error_within_the_timeout(tmp_path: Path) -> None:
    from greenops_tb.readers.csv import read_records

    res, outs = _run(tmp_path, "killed")
    assert (tmp_path / "rank1-mid-stage").exists() and res[1].returncode == 9
    err = outs[0]["error"]
    assert err["type"] == "RankTimeoutError" and "a rank died, is stuck" in err["message"]
    assert "stop('train')" in err["message"]
    assert err["seconds"] < TIMEOUT_S + 2.0
    assert outs[0]["close_seconds"] < 1.0
    # nothing is lost: the stage is recorded at close with rank 0's own energy, labelled as such
    (rec,) = read_records(tmp_path / "job" / "green.csv")
    assert rec.stage == "train"
    assert "this rank only" in rec.devices["r0/gpu:0"].provenance
    assert "no data" in rec.devices["r1/gpu:0"].provenance


def test_ddp_example_under_torchrun(tmp_path: Path) -> None:
    """examples/ddp_example.py as users run it: torchrun, 2 processes, gloo, DDP."""
    import os
    import subprocess

    from distributed_harness import REPO, free_port
    from greenops_tb.readers.csv import read_records

    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port()),
           str(REPO / "examples" / "ddp_example.py"), "--log-dir", str(tmp_path / "ddp"), "--epochs", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=str(REPO),
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "total (each joule once)" in done.stdout and done.stdout.count("greenops_tb run") == 1  # rank 0 prints
    recs = read_records(tmp_path / "ddp" / "green.csv")
    assert [r.stage for r in recs] == ["train"] * 9 + ["eval"]  # 8 batches per rank + the stop, then eval
    ranks = {k.split("/")[0] for r in recs for k in r.devices}
    assert ranks == {"r0", "r1"}
    assert len(list((tmp_path / "ddp").glob("events.out.tfevents*"))) == 1


if __name__ == "__main__":
    worker(sys.argv[1], sys.argv[2])
