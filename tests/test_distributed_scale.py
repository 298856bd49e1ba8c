"""16 gloo ranks on this machine, simulated as 4 hosts x 4 ranks whose ranks see different host names:
per-step ``update()`` with ``dist_flush_every``; totals are the sums of the ranks' known powers, each host's
RAPL (a fake powercap tree per host) is counted once, and every rank's device context reaches the records."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

THIS = Path(__file__).resolve()
HOSTS, PER_HOST = int(os.environ.get("SCALE_HOSTS", 4)), int(os.environ.get("SCALE_PER_HOST", 4))
WORLD = HOSTS * PER_HOST
STEPS, FLUSH_EVERY = 12, 4
PACKAGE_W = {h: 40.0 + 10 * h for h in range(HOSTS)}
DRAM_W = {h: 4.0 + h for h in range(HOSTS)}


def gpu_w(rank: int) -> float:
    return 50.0 + 5 * rank


def launch(out_dir: str) -> None:
    """The launcher: imports once, writes one powercap tree per host, forks the ranks, ticks the counters."""
    import socket

    import torch.distributed  # noqa: F401 - imported once, before the ranks fork

    from greenops_tb import GreenSummaryWriter
    from distributed_harness import fork_ranks, init_group
    from fakes.powercap import FakePowercap, Zone
    from greenops_tb.meters.constant import ConstantPowerSource
    from greenops_tb.meters.rapl import rapl_sources

    out = Path(out_dir)
    caps = [FakePowercap(out / f"sys{h}", [Zone("intel-rapl:0", f"package-{h}", PACKAGE_W[h]),
                                           Zone("intel-rapl:0:0", "dram", DRAM_W[h])], tick_s=0.002)
            for h in range(HOSTS)]

    def rank_main(rank: int) -> None:
        host = rank // PER_HOST
        socket.gethostname = lambda: f"node{host}-c{rank % PER_HOST}"  # every rank its own host name
        init_group(30)

        steps = [0]
        born = time.perf_counter()

        class Gpu(ConstantPowerSource):
            def context(self):  # a key appears mid-run (as when a reading becomes available): the row widens
                extra = {"temp_c": 40.0 + rank} if steps[0] >= STEPS // 2 else {}
                busy = {"util_pct*s": 50.0 * (time.perf_counter() - born)}  # a running integral: 50 % busy
                return [{"mem_used_gb": 10.0 + rank, **busy, **extra}]

        meters = [Gpu({"gpu:0": gpu_w(rank)}, label="test-gpu", scope="device"),
                  *rapl_sources(out / f"sys{host}", cpu_name="fake")]
        w = GreenSummaryWriter(str(out / "job"), country="DE", meters=meters, dist_flush_every=FLUSH_EVERY,
                               dist_timeout_s=20)
        t0 = time.perf_counter()
        w.start("train")
        t1 = time.perf_counter()
        for _ in range(STEPS):
            time.sleep(0.02)
            w.update("train")
            steps[0] += 1
        time.sleep(0.02)
        t2 = time.perf_counter()
        w.stop("train")
        t3 = time.perf_counter()
        w.close()
        # this rank's own window: its energy was read inside start() and inside stop()
        (out / f"rank{rank}.json").write_text(json.dumps({"shortest": t2 - t1, "longest": t3 - t0}))
        import torch.distributed as dist

        dist.destroy_process_group()

    started = time.perf_counter()
    codes = fork_ranks(WORLD, rank_main, lambda r: {"LOCAL_RANK": str(r % PER_HOST),
                                                     "LOCAL_WORLD_SIZE": str(PER_HOST),
                                                     "GREENOPS_HOST_ID": f"host{r // PER_HOST}",
                                                     "SLURM_JOB_ID": "777", "SLURM_JOB_NODELIST": "node[0-3]",
                                                     "GREENOPS_LOCK_DIR": str(out)}, 90,
                       after_fork=lambda: [cap.start() for cap in caps])  # ticking here while the ranks read
    (out / "launcher.json").write_text(json.dumps({"codes": codes, "seconds": time.perf_counter() - started}))
    for cap in caps:
        cap.stop()


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("scale")
    proc = subprocess.run([sys.executable, str(THIS), "launch", str(tmp)], capture_output=True, text=True,
                          timeout=150, cwd=str(THIS.parent.parent))
    result = json.loads((tmp / "launcher.json").read_text()) if (tmp / "launcher.json").exists() else None
    assert proc.returncode == 0 and result and result["codes"] == [0] * WORLD, (proc.stdout[-2000:],
                                                                                 proc.stderr[-6000:])
    return tmp / "job", result


def test_sixteen_ranks_four_hosts_totals_and_host_energy_once(job) -> None:
    from greenops_tb.readers.csv import read_records

    log_dir, _ = job
    recs = read_records(log_dir / "green.csv")
    assert [r.stage for r in recs] == ["train"] * (STEPS + 1)
    leaders = [h * PER_HOST for h in range(HOSTS)]
    want = {f"r{r}/gpu:0" for r in range(WORLD)} | {f"r{r}/{d}" for r in leaders for d in ("cpu:0", "ram")}
    for r in recs:
        assert set(r.devices) == want, "RAPL once per host (by host identity, not host name), every rank's GPU"
        assert r.energy_kwh == pytest.approx(sum(d.energy_kwh for d in r.devices.values()), rel=1e-9)
    win = {r: json.loads((log_dir.parent / f"rank{r}.json").read_text()) for r in range(WORLD)}
    per_device = {k: sum(r.devices[k].energy_kwh for r in recs) * 3.6e6 for k in want}

    def within(joules: float, watts: float, rank: int, slack_s: float = 0.002) -> bool:  # watts x the rank's window
        return watts * (win[rank]["shortest"] - slack_s) <= joules <= watts * (win[rank]["longest"] + slack_s)

    for rank in range(WORLD):
        assert within(per_device[f"r{rank}/gpu:0"], gpu_w(rank), rank), (rank, per_device[f"r{rank}/gpu:0"], win[rank])
    for h, rank in enumerate(leaders):
        # the fake counters tick every 2 ms in a launcher thread that a loaded machine may delay
        assert within(per_device[f"r{rank}/cpu:0"], PACKAGE_W[h], rank, 0.05), h
        assert within(per_device[f"r{rank}/ram"], DRAM_W[h], rank, 0.05), h
    total = recs[-1].run_energy_kwh * 3.6e6
    assert total == pytest.approx(sum(per_device.values()), rel=1e-9), "the job total is the sum over ranks' meters"
    low = sum(gpu_w(r) * win[r]["shortest"] for r in range(WORLD)) + sum(
        (PACKAGE_W[h] + DRAM_W[h]) * win[r]["shortest"] for h, r in enumerate(leaders))
    high = sum(gpu_w(r) * win[r]["longest"] for r in range(WORLD)) + sum(
        (PACKAGE_W[h] + DRAM_W[h]) * win[r]["longest"] for h, r in enumerate(leaders))
    assert low * 0.97 <= total <= high * 1.03, "hand-computed: 16 GPUs and 4 hosts' RAPL, each counted once"


def test_every_ranks_device_context_and_hosts_in_metadata(job) -> None:
    from tensorboard.context import RequestContext

    from greenops_tb.readers.csv import read_records
    from greenops_tb.readers.events import local_provider, read_runs

    log_dir, _ = job
    last = read_records(log_dir / "green.csv")[-1]
    assert {r: last.devices[f"r{r}/gpu:0"].context.get("mem_used_gb") for r in range(WORLD)} == \
        {r: 10.0 + r for r in range(WORLD)}, "other ranks' device context is exchanged, not only rank 0's"
    for rec in (read_records(log_dir / "green.csv")[STEPS - 1], last):  # they end at exchanges (update 12, stop)
        assert all(rec.devices[f"r{r}/gpu:0"].context["util_pct"] == pytest.approx(50.0, rel=0.1)
                   for r in range(WORLD)), "every rank's mean utilisation, on its own clock"
    second = read_records(log_dir / "green.csv")[1]  # update #2: no exchange (dist_flush_every=4)
    assert second.devices["r0/gpu:0"].context["util_pct"] == pytest.approx(50.0, rel=0.05)
    assert second.devices["r1/gpu:0"].context == {}, "between exchanges other ranks' context is left out, not stale"
    assert {r: last.devices[f"r{r}/gpu:0"].context.get("temp_c") for r in range(WORLD)} == \
        {r: 40.0 + r for r in range(WORLD)}, "a context key that appears mid-run is agreed and exchanged too"
    (run,) = read_runs(local_provider(str(log_dir)), RequestContext(), "").values()
    extra = run.metadata.extra
    assert extra["host_ids"] == {f"host{h}": list(range(h * PER_HOST, (h + 1) * PER_HOST)) for h in range(HOSTS)}
    assert len(extra["hosts"]) == WORLD, "16 host names, 4 physical hosts"
    assert extra["host_level_rank"] == {f"host{h}": h * PER_HOST for h in range(HOSTS)}
    assert extra["job"] == {"key": "slurm:777", "slurm": {"job_id": "777", "nodelist": "node[0-3]"}}


if __name__ == "__main__" and sys.argv[1:2] == ["launch"]:
    launch(sys.argv[2])
