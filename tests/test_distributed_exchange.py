"""JobAggregator across 2 real gloo processes: sums, host-level once, flush batching, order and timeout errors.

Each test spawns 2 Python processes (this file run as a script, one scenario per run); they
write JSON results that the test then checks.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Sequence

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from distributed_harness import init_group, spawn  # noqa: E402

THIS = Path(__file__).resolve()
TIMEOUT_S = 3.0


# --------------------------------------------------------------------------- worker side
def _sources(rank: int):
    """Test sources whose cumulative joules the scenario sets (known energy per device)."""
    from greenops_tb.meters.base import Device, EnergySource

    class Known(EnergySource):
        def __init__(self, devices: tuple[Device, ...], label: str, scope: str | None = None) -> None:
            self.devices = devices
            self.label = label
            self.joules = [0.0] * len(devices)
            if scope is not None:
                self.scope = scope

        def read(self) -> Sequence[float]:
            return list(self.joules)

        def provenance(self) -> Sequence[str]:
            return [self.label] * len(self.devices)

    return [
        Known((Device("cpu:0", "cpu", "test cpu"),), "test-host"),
        Known((Device("ram", "ram", "test ram"),), "test-host"),
        Known((Device("gpu:0", "gpu", f"test gpu of rank {rank}"),), "test-gpu"),
        Known((Device("proc", "cpu", "per-process model"),), "test-proc", scope="process"),
    ]


def worker(scenario: str, out_dir: str) -> None:
    from greenops_tb.distributed import DistributedError, JobAggregator, JobMeter, detect
    from greenops_tb.meters.base import Meter

    init_group()
    info = detect()
    rank = info.rank
    result: dict = {"rank": rank}
    if scenario == "no-writer-on-rank1" and rank == 1:
        time.sleep(TIMEOUT_S + 2)
        return
    t0 = time.perf_counter()
    try:
        agg = JobAggregator(info, timeout_s=TIMEOUT_S, flush_every=2)
        kept = agg.select_sources(_sources(rank))
        meter = JobMeter(Meter(kept), agg)
        result["local"] = [d.id for s in kept for d in s.devices]
        result["devices"] = [d.id for d in meter.devices]
        result["extra"] = agg.metadata_extra()

        def step(kind: str, stage: str, k: int) -> list[float]:
            for i, s in enumerate(kept):  # device i of rank r has spent k * (10 * (r + 1) + i) J
                s.joules = [float(k * (10 * (rank + 1) + i))]
            meter.expect(kind, stage)
            return list(meter.read().joules)

        reads = result["reads"] = []
        if scenario == "basic":
            reads.append(step("start", "train", 1))
            for k in (2, 3, 4):  # flush_every=2: the 2nd update exchanges, the 1st and 3rd do not
                reads.append(step("update", "train", k))
            if rank == 1:
                kept[0].label = "test-gpu (fallback: x)"
            reads.append(step("stop", "train", 5))
            result["provenance"] = list(meter.provenance())
            result["exchanges"] = agg.exchanges
            for i, s in enumerate(kept):  # an unannounced read (a model hook's): no exchange
                s.joules = [float(6 * (10 * (rank + 1) + i))]
            result["unannounced"] = list(meter.read().joules)
            result["exchanges_after"] = agg.exchanges
        elif scenario == "destroyed":  # the user destroyed the process group before closing the writer
            step("start", "train", 1)
            import torch.distributed as dist
            import warnings

            dist.destroy_process_group()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result["after"] = step("stop", "train", 2)
                step("start", "eval", 3)
            result["warnings"] = [str(w.message) for w in caught]
            result["after_provenance"] = list(meter.provenance())
        elif scenario == "order":
            step("start", "train" if rank == 0 else "eval", 1)
        elif scenario in ("killed", "stuck"):
            step("start", "train", 1)
            if rank == 1:
                Path(out_dir, "rank1-mid-stage").write_text("x")
                if scenario == "killed":
                    os._exit(9)
                time.sleep(TIMEOUT_S + 1.5)
                return
            time.sleep(0.2)
            t0 = time.perf_counter()
            step("stop", "train", 2)
        meter.close()
    except DistributedError as err:
        result["error"] = {"type": type(err).__name__, "message": str(err), "seconds": time.perf_counter() - t0}
        if scenario != "no-writer-on-rank1":  # afterwards: rank-local, no collective, no wait
            t1 = time.perf_counter()
            result["after"] = step("stop", "train", 7)
            result["after_provenance"] = list(meter.provenance())
            meter.close()
            result["after_seconds"] = time.perf_counter() - t1
    Path(out_dir, f"rank{rank}.json").write_text(json.dumps(result))


# --------------------------------------------------------------------------- test side
def _run(tmp_path: Path, scenario: str, deadline: float = 40.0):
    res = spawn(THIS, [scenario, str(tmp_path)], world=2, deadline_s=deadline)
    outs = {}
    for r in res:
        f = tmp_path / f"rank{r.rank}.json"
        outs[r.rank] = json.loads(f.read_text()) if f.exists() else None
    return res, outs


def test_job_total_is_sum_of_ranks_and_host_level_counted_once(tmp_path: Path) -> None:
    res, outs = _run(tmp_path, "basic")
    assert all(r.returncode == 0 for r in res), [r.stderr[-2000:] for r in res]
    r0, r1 = outs[0], outs[1]
    # one host: rank 0 measures the host-level cpu/ram; rank 1 only its GPU and its per-process model
    assert r0["local"] == ["cpu:0", "ram", "gpu:0", "proc"] and r1["local"] == ["gpu:0", "proc"]
    assert r0["devices"] == ["r0/cpu:0", "r0/ram", "r0/gpu:0", "r0/proc", "r1/gpu:0", "r1/proc"]
    assert r0["extra"]["world_size"] == 2 and list(r0["extra"]["hosts"].values()) == [[0, 1]]

    def job(k0: int, k1: int) -> list[float]:  # rank 0 at its k0-th boundary, rank 1 as of its k1-th
        return [k0 * 10.0, k0 * 11.0, k0 * 12.0, k0 * 13.0, k1 * 20.0, k1 * 21.0]

    # start exchanges; update 1 does not (rank 1 as of the start); update 2 does; update 3 not; stop does
    expected = [job(1, 1), job(2, 1), job(3, 3), job(4, 3), job(5, 5)]
    assert r0["reads"] == expected
    assert r1["reads"] == [job(1, 1), job(1, 2), job(3, 3), job(3, 4), job(5, 5)]  # rank 0 as of the exchanges
    assert sum(r0["reads"][-1]) == pytest.approx(5 * 87.0, rel=1e-12)  # job total = sum over ranks
    # collectives: start-up, start, update 2, stop, and one provenance refresh (rank 1 changed a label)
    assert r0["exchanges"] == r1["exchanges"] == 5
    assert r0["unannounced"] == job(6, 5) and r1["unannounced"] == job(5, 6)
    assert r0["exchanges_after"] == 5
    # a provenance change on rank 1 reaches every rank's view at the next exchange
    assert r0["provenance"][4] == "test-gpu (fallback: x)" and r0["provenance"] == r1["provenance"]


def test_stage_order_mismatch_is_a_clear_error_on_every_rank(tmp_path: Path) -> None:
    res, outs = _run(tmp_path, "order")
    for r in (0, 1):
        err = outs[r]["error"]
        assert err["type"] == "StageOrderError"
        assert "rank 0: #1 start('train')" in err["message"] and "rank 1: #1 start('eval')" in err["message"]
        assert "same order" in err["message"]
        # measuring goes on rank-locally: own devices count, the other rank's stay frozen and say so
        own = [i for i, d in enumerate(outs[r]["after_provenance"]) if "this rank only" in d]
        assert len(own) == (4 if r == 0 else 2)
        assert all("no data" in p for i, p in enumerate(outs[r]["after_provenance"]) if i not in own)
        assert outs[r]["after_seconds"] < 1.0


def test_destroyed_process_group_degrades_to_rank_local_with_one_warning(tmp_path: Path) -> None:
    res, outs = _run(tmp_path, "destroyed")
    assert all(r.returncode == 0 for r in res), [r.stderr[-2000:] for r in res]
    for r in (0, 1):
        (msg,) = outs[r]["warnings"]
        assert "close the writer before torch.distributed.destroy_process_group()" in msg
        own = [p for p in outs[r]["after_provenance"] if "this rank only" in p]
        assert len(own) == (4 if r == 0 else 2)
    assert outs[0]["after"] == [20.0, 22.0, 24.0, 26.0, 20.0, 21.0]  # own devices at step 2, rank 1 frozen at 1


@pytest.mark.parametrize("scenario", ["killed", "stuck"])
def test_dead_or_stuck_rank_gives_clear_error_within_timeout(tmp_path: Path, scenario: str) -> None:
    t0 = time.perf_counter()
    res, outs = _run(tmp_path, scenario, deadline=TIMEOUT_S * 3 + 25)
    assert (tmp_path / "rank1-mid-stage").exists()
    err = outs[0]["error"]
    assert err["type"] == "RankTimeoutError", err
    assert "a rank died, is stuck" in err["message"] and "stop('train')" in err["message"]
    assert err["seconds"] < TIMEOUT_S + 2.0, err  # the configured timeout, not gloo's 30 min default
    assert outs[0]["after_seconds"] < 1.0  # later boundaries and close() do not wait again
    assert outs[0]["after"][:4] == [70.0, 77.0, 84.0, 91.0]  # rank 0 keeps measuring its own devices
    assert res[0].returncode == 0
    assert time.perf_counter() - t0 < TIMEOUT_S * 3 + 25


def test_writer_missing_on_a_rank_is_a_clear_error(tmp_path: Path) -> None:
    res, outs = _run(tmp_path, "no-writer-on-rank1")
    err = outs[0]["error"]
    assert err["type"] == "RankTimeoutError"
    assert "Create the writer on EVERY rank" in err["message"]
    assert err["seconds"] < TIMEOUT_S + 2.0


if __name__ == "__main__":
    worker(sys.argv[1], sys.argv[2])


def test_each_source_declares_what_it_covers():
    """Host-level sources are measured once per host; per-process models on every rank, also when relabelled."""
    from greenops_tb.distributed.exchange import host_level
    from greenops_tb.meters.constant import ConstantPowerSource
    from greenops_tb.meters.model import ModelCpuSource, ModelRamSource
    from greenops_tb.meters.rapl import LabelledSource

    cpu_model = ModelCpuSource()
    assert not host_level(cpu_model)
    assert not host_level(LabelledSource(cpu_model, "rapl unreadable"))  # the RAPL fallback stays per process
    ram = ModelRamSource()
    try:
        assert not host_level(ram)
    finally:
        ram.close()
    assert host_level(ConstantPowerSource({"cpu:0": 10.0, "ram": 2.0}))
    assert not host_level(ConstantPowerSource({"gpu:0": 300.0}))
    assert not host_level(ConstantPowerSource({"cpu:0": 10.0}, scope="process"))
