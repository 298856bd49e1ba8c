"""GreenSummaryWriter in real gloo jobs: no collective at any stage boundary, each rank its own shard in ONE run
directory, the job read back as one run with exact totals (CLI, Green tab, read_csv), ranks running different
stages (pipeline parallel), a rank killed mid-run, the DDP example under torchrun, old rank-0 job logs."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from distributed_harness import REPO, free_port, init_group, spawn  # noqa: E402

THIS = Path(__file__).resolve()
WORLD = 4
STEPS = 6
HOST_W = {"cpu:0": 30.0, "ram": 5.0}  # the host's CPU and RAM: measured by one rank only
OLD_JOB = REPO / "tests" / "fixtures" / "job_rank0_aggregated"  # written by a77d9f2's rank-0 aggregation
#: every torch.distributed call that talks to other ranks (or sets up a group to do so)
COLLECTIVES = ("all_gather", "all_gather_object", "all_gather_into_tensor", "all_reduce", "all_to_all", "barrier",
               "monitored_barrier", "broadcast", "broadcast_object_list", "gather", "gather_object", "scatter",
               "scatter_object_list", "reduce", "reduce_scatter", "reduce_scatter_tensor", "send", "recv", "isend",
               "irecv", "batch_isend_irecv", "new_group", "new_subgroups")


def gpu_w(rank: int) -> float:
    return 100.0 + 10.0 * rank


def count_collectives() -> list[str]:
    """Wrap torch.distributed's collectives (both import paths) so every call is noted; returns the notes."""
    import torch.distributed as dist
    import torch.distributed.distributed_c10d as c10d

    calls: list[str] = []

    def wrap(name, fn):
        def counted(*args, **kwargs):
            calls.append(name)
            return fn(*args, **kwargs)
        return counted

    for name in COLLECTIVES:
        fn = getattr(c10d, name, None)
        if fn is not None:
            wrapped = wrap(name, fn)
            setattr(c10d, name, wrapped)
            if getattr(dist, name, None) is fn:
                setattr(dist, name, wrapped)
    return calls


def meters(rank: int, gpu: float | None = None):
    from greenops_tb.meters.constant import ConstantPowerSource

    return [ConstantPowerSource({"gpu:0": gpu or gpu_w(rank)}, label="test-gpu", scope="device"),
            ConstantPowerSource(HOST_W, label="test-host", scope="host")]


def worker(scenario: str, out_dir: str) -> None:
    import torch.distributed as dist

    from greenops_tb import GreenSummaryWriter

    if scenario == "torchrun":
        dist.init_process_group("gloo")
    else:
        init_group()
    rank = dist.get_rank()
    calls = count_collectives()
    out = Path(out_dir)
    result: dict = {"rank": rank}
    w = GreenSummaryWriter(str(out / "job"), country="DE", meters=meters(rank))
    if scenario == "torchrun":
        w.add_scalar("loss", 1.0, 0)  # the user's own scalar: rank 0 writes it, the others drop it
        w.start("train")
        took = []
        for _ in range(STEPS):
            time.sleep(0.02)  # the simulated step
            t0 = time.perf_counter()
            w.update("train", samples=8)
            took.append(time.perf_counter() - t0)
        w.stop("train", samples=8)
        with w.stage("eval"):
            time.sleep(0.02 * (1 + rank))  # rank 3 is the straggler
        result["update_s"] = took
    elif scenario == "pipeline":  # each rank its own pipeline stage, a different number of micro-batches
        for _ in range(2):
            with w.stage(f"pp{rank}/fwd"):
                for _ in range(rank + 1):
                    time.sleep(0.01)
                    w.update(f"pp{rank}/fwd")
        if rank == 0:
            with w.stage("loss"):
                time.sleep(0.01)
    elif scenario == "killed":
        w.start("train")
        for i in range(12):
            time.sleep(0.02)
            w.update("train")
            if rank == 1 and i == 1:
                w.flush()  # on disk now: the crash contract loses at most the rows of the last 100 ms after this
            if rank == 1 and i == 2:
                Path(out_dir, "rank1-died").write_text("x")
                os._exit(9)  # no close(), no flush: as a crash
        w.stop("train")
    w.close()
    t = w.totals()
    result["calls"] = list(calls)
    result["totals"] = {n: s.energy_kwh for n, s in t.stages.items()} | {"total": t.total.energy_kwh}
    if scenario != "killed":  # (with a dead rank, the test's own barrier would fail)
        dist.barrier()  # the counter's own check: one collective, counted
        result["after_barrier"] = list(calls)
    Path(out_dir, f"rank{rank}.json").write_text(json.dumps(result))
    dist.destroy_process_group()


def _outs(tmp: Path, world: int) -> dict[int, dict | None]:
    return {r: json.loads((tmp / f"rank{r}.json").read_text()) if (tmp / f"rank{r}.json").exists() else None
            for r in range(world)}


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory):
    """4 ranks under torchrun (gloo), as users launch them."""
    tmp = tmp_path_factory.mktemp("ddp")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(WORLD), "--master_port",
           str(free_port()), str(THIS), "torchrun", str(tmp)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=str(REPO),
                          env=dict(os.environ, PYTHONPATH=str(REPO), GREENOPS_LOCK_DIR=str(tmp)))
    assert done.returncode == 0, done.stderr[-4000:]
    return tmp / "job", _outs(tmp, WORLD)


def test_no_collective_at_any_boundary_and_one_shard_per_rank(job) -> None:
    from greenops_tb.readers.csv import read_records

    log_dir, outs = job
    for rank, out in outs.items():
        assert out["calls"] == [], f"rank {rank} called torch.distributed: {out['calls']}"
        assert out["after_barrier"] == ["barrier"], "the counter sees the real API's calls"
        assert len(out["update_s"]) == STEPS
    files = sorted(p.name for p in log_dir.iterdir())
    assert [f for f in files if f.startswith("green")] == [f"green.rank{r}.csv" for r in range(WORLD)]
    assert sorted(f.rsplit(".", 1)[1] for f in files if "tfevents" in f) == [f"rank{r}" for r in range(WORLD)]
    host_level = []
    for r in range(WORLD):
        recs = read_records(log_dir / f"green.rank{r}.csv")
        assert [x.stage for x in recs] == ["train"] * (STEPS + 1) + ["eval"]
        assert "gpu:0" in recs[0].devices, "a shard holds the rank's own devices, unprefixed"
        if "cpu:0" in recs[0].devices:
            host_level.append(r)
    assert len(host_level) == 1, f"the host's CPU and RAM are measured by one rank, not {host_level}"


def test_job_reads_back_as_one_run_with_exact_totals(job) -> None:
    from greenops_tb.readers.runs import load_run

    log_dir, outs = job
    data = load_run(str(log_dir), "python")  # TensorBoard's own ingester: ONE run for the whole job
    ranks = [outs[r]["totals"] for r in range(WORLD)]
    last = data.records[-1]
    assert last.run_energy_kwh == math.fsum(t["total"] for t in ranks), "the job total: the exact sum of the ranks'"
    train = [r for r in data.records if r.stage == "train"][-1]
    assert train.stage_energy_kwh == math.fsum(t["train"] for t in ranks)
    assert train.stage_samples == WORLD * 8 * (STEPS + 1)
    assert [r.seq for r in data.records] == list(range(WORLD * (STEPS + 2)))
    assert {k.split("/")[0] for k in last.run_devices_kwh} == {f"r{r}" for r in range(WORLD)}
    assert math.fsum(last.run_devices_kwh.values()) == pytest.approx(last.run_energy_kwh, rel=1e-12)
    assert [(r.rank, r.energy_kwh) for r in data.ranks] == [(r, ranks[r]["total"]) for r in range(WORLD)]
    # the straggler's own time is longer; each rank's GPU energy is its power x its own time
    assert max(data.ranks, key=lambda r: r.stage_duration_s["eval"]).rank == WORLD - 1
    extra = data.metadata.extra
    assert extra["layout"] == "rank-shards" and extra["world_size"] == WORLD
    assert [r["devices"][0] for r in extra["ranks"]] == [f"r{r}/gpu:0" for r in range(WORLD)]


def test_cli_and_green_tab_show_the_job_with_ranks_and_hosts(job) -> None:
    from tensorboard.backend import application
    from tensorboard.context import RequestContext
    from tensorboard.plugins import base_plugin
    from werkzeug.test import Client

    from greenops_tb.plugin.loader import GreenLoader
    from greenops_tb.readers.events import green_listing, local_provider

    log_dir, outs = job
    done = subprocess.run([sys.executable, "-m", "greenops_tb", "summary", str(log_dir), "--json", "--loader",
                           "python"], capture_output=True, text=True, timeout=120, cwd=str(REPO),
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert done.returncode == 0, done.stderr
    (cli,) = json.loads(done.stdout) if done.stdout.lstrip().startswith("[") else [json.loads(done.stdout)]
    assert cli["totals"]["energy_kwh"] == math.fsum(outs[r]["totals"]["total"] for r in range(WORLD))
    assert [r["rank"] for r in cli["job"]["ranks"]] == list(range(WORLD)) and cli["job"]["missing_ranks"] == []
    (host,) = cli["job"]["hosts"]
    assert host["ranks"] == list(range(WORLD))
    assert host["energy_kwh"] == pytest.approx(cli["totals"]["energy_kwh"], rel=1e-12)

    provider = local_provider(str(log_dir.parent))
    assert list(green_listing(provider, RequestContext(), "")) == ["job"], "one run in TensorBoard, not one per rank"
    plugin = GreenLoader().load(base_plugin.TBContext(data_provider=provider))
    c = Client(application.TensorBoardWSGI([plugin], data_provider=provider))
    r = c.get("/data/plugin/green/summary?run=job")
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    tab = json.loads(r.get_data(as_text=True))
    assert tab["totals"]["energy_kwh"] == cli["totals"]["energy_kwh"]
    assert {d["device"] for d in tab["devices"]} >= {f"r{r}/gpu:0" for r in range(WORLD)}
    assert [x["energy_kwh"] for x in tab["job"]["ranks"]] == [outs[r]["totals"]["total"] for r in range(WORLD)]
    scalars = provider.list_scalars(RequestContext(), experiment_id="", plugin_name="scalars")["job"]
    assert "loss" in scalars and "green/train/energy_kwh@r3" in scalars, "the user's scalars once, green per rank"


def test_read_csv_of_the_run_dir_merges_the_shards(job) -> None:
    from greenops_tb import read_csv

    log_dir, outs = job
    df = read_csv(log_dir)
    assert len(df) == WORLD * (STEPS + 2)
    assert df["run_energy_kwh"].iloc[-1] == pytest.approx(math.fsum(outs[r]["totals"]["total"] for r in range(WORLD)),
                                                           rel=1e-9)  # the CSV keeps its own number format


def test_pipeline_ranks_run_different_stages(tmp_path: Path) -> None:
    from greenops_tb.readers.runs import load_run

    res = spawn(THIS, ["pipeline", str(tmp_path)], world=3, deadline_s=120)
    assert all(r.returncode == 0 for r in res), [r.stderr[-2000:] for r in res]
    outs = _outs(tmp_path, 3)
    data = load_run(str(tmp_path / "job"), "python")
    last_of = {r.stage: r for r in data.records}
    assert set(last_of) == {"pp0/fwd", "pp1/fwd", "pp2/fwd", "loss"}
    for rank in range(3):
        stage = f"pp{rank}/fwd"
        assert last_of[stage].stage_energy_kwh == outs[rank]["totals"][stage], "a stage of one rank: its own total"
        assert sum(r.stage == stage for r in data.records) == 2 * (rank + 2)
        assert set(last_of[stage].devices) <= {f"r{rank}/gpu:0", f"r{rank}/cpu:0", f"r{rank}/ram"}
    assert data.records[-1].run_energy_kwh == math.fsum(outs[r]["totals"]["total"] for r in range(3))


def test_killed_rank_loses_only_its_own_rows_and_the_others_finish(tmp_path: Path) -> None:
    from greenops_tb import read_csv
    from greenops_tb.analysis.run_summary import summarize
    from greenops_tb.readers.csv import read_records
    from greenops_tb.readers.runs import load_run

    t0 = time.perf_counter()
    res = spawn(THIS, ["killed", str(tmp_path)], world=3, deadline_s=120)
    assert (tmp_path / "rank1-died").exists() and res[1].returncode == 9
    assert res[0].returncode == 0 and res[2].returncode == 0, [r.stderr[-2000:] for r in res]
    outs = _outs(tmp_path, 3)
    assert outs[1] is None and outs[0]["calls"] == [] and outs[2]["calls"] == []
    assert time.perf_counter() - t0 < 100, "nobody waited for the dead rank"
    died_with = len(read_records(tmp_path / "job" / "green.rank1.csv"))
    assert 2 <= died_with <= 3, "every row flushed before dying; at most the last 100 ms (one update) lost"
    data = load_run(str(tmp_path / "job"), "python")
    by_rank = {r.rank: r for r in data.ranks}
    assert by_rank[0].records == by_rank[2].records == 13
    assert by_rank[0].energy_kwh == outs[0]["totals"]["total"] and by_rank[2].energy_kwh == outs[2]["totals"]["total"]
    assert data.records[-1].run_energy_kwh == math.fsum(r.energy_kwh for r in data.ranks)
    # its event file had not been flushed yet (every stop() and flush_secs flush it): the job says so
    job = summarize(data)["job"]
    assert job["world_size"] == 3
    assert job["missing_ranks"] == ([] if 1 in by_rank else [1])
    assert 1 not in by_rank or by_rank[1].records <= 3
    # its CSV rows are on disk as written: the merged CSV shards hold them
    df = read_csv(tmp_path / "job")
    assert sum(any(c.startswith("r1/") for c in row) for row in df["provenance"].str.split(";")) == died_with
    assert len(df) == 13 + died_with + 13


def test_ddp_example_under_torchrun(tmp_path: Path) -> None:
    """examples/ddp_example.py as users run it: torchrun, 2 processes, gloo, DDP."""
    from greenops_tb.readers.runs import load_run

    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port()),
           str(REPO / "examples" / "ddp_example.py"), "--log-dir", str(tmp_path / "ddp"), "--epochs", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, cwd=str(REPO),
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("greenops_tb run") == 1  # rank 0 prints
    data = load_run(str(tmp_path / "ddp"), "python")
    assert sorted(r.stage for r in data.records) == sorted(["train"] * 16 + ["eval"] * 2)  # 8 update(step=)s, eval
    assert {k.split("/")[0] for r in data.records for k in r.devices} == {"r0", "r1"}
    assert len(list((tmp_path / "ddp").glob("events.out.tfevents*"))) == 2


def test_old_rank_zero_job_logs_stay_readable(capsys) -> None:
    """A job written by the old rank-0 aggregation (one event file, green.csv, ``r<rank>/`` device ids)."""
    from greenops_tb.cli import main
    from greenops_tb.readers.csv import read_records
    from greenops_tb.readers.runs import load_run

    data = load_run(str(OLD_JOB), "python")
    csv = read_records(OLD_JOB / "green.csv")
    assert [r.stage for r in data.records] == [r.stage for r in csv] == ["train"] * 5 + ["eval", "tail"]
    assert data.ranks == () and data.metadata.extra["world_size"] == 2
    assert main(["summary", str(OLD_JOB), "--json", "--loader", "python"]) == 0
    s = json.loads(capsys.readouterr().out)
    s = s[0] if isinstance(s, list) else s
    assert s["totals"]["energy_kwh"] == data.records[-1].run_energy_kwh
    per_rank = {r["rank"]: r["energy_kwh"] for r in s["job"]["ranks"]}
    devices = data.records[-1].run_devices_kwh
    assert per_rank == {r: pytest.approx(math.fsum(v for k, v in devices.items() if k.startswith(f"r{r}/")),
                                         rel=1e-12) for r in (0, 1)}
    assert s["job"]["layout"] == "rank-0 aggregation"


if __name__ == "__main__":
    worker(sys.argv[1], sys.argv[2])
