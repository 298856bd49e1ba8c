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
    from greenops_tb.meters.base import Device, EnergySource

    class Fixed(EnergySource):
        def __init__(self, devices: tuple[Device, ...], label: str, scope: str | None = None) -> None:
            self.devices = devices
            self._label = label
            if scope is not None:
                self.scope = scope

        def read(self) -> Sequence[float]:
            return [0.0] * len(self.devices)

        def provenance(self) -> Sequence[str]:
            return [self._label] * len(self.devices)

    return [
        Fixed((Device("cpu:0", "cpu", "test cpu"),), "test-host"),
        Fixed((Device("ram", "ram", "test ram"),), "test-host"),
        Fixed((Device("gpu:0", "gpu", f"test gpu of rank {rank}"),), "test-gpu"),
        Fixed((Device("proc", "cpu", "per-process model"),), "test-proc", scope="process"),
    ]


def _interval_json(iv) -> dict:
    return {"stage": iv.stage, "payload": iv.payload, "complete": iv.complete,
            "devices": {k: [v.kind, v.energy_kwh * 3.6e6, v.provenance] for k, v in iv.devices.items()}}


def worker(scenario: str, out_dir: str) -> None:
    from greenops_tb.distributed import DistributedError, JobAggregator, detect

    init_group()
    info = detect()
    rank = info.rank
    result: dict = {"rank": rank}
    if scenario == "no-writer-on-rank1" and rank == 1:
        time.sleep(TIMEOUT_S + 2)
        return
    t0 = time.perf_counter()
    try:
        agg = JobAggregator(info, timeout_s=TIMEOUT_S, flush_every=3 if scenario == "basic" else 1)
        kept = agg.select_sources(_sources(rank))
        devices = [d for s in kept for d in s.devices]
        agg.start(devices, [p for s in kept for p in s.provenance()])
        result["devices"] = [d.id for d in devices]
        result["extra"] = agg.metadata_extra()
        result["meta"] = agg.devices_metadata()
        joules = [float(10 * (rank + 1) + i) for i in range(len(devices))]
        prov = [p for s in kept for p in s.provenance()]
        got = []
        if scenario == "basic":
            for step in range(4):  # flush_every=3: updates 0-2 exchange together, then stop flushes #3
                got.append([_interval_json(i) for i in agg.submit("train", joules, prov, step, final=False)])
            got.append([_interval_json(i) for i in agg.submit("train", joules, prov, "stop", final=True)])
            prov = [p + " (fallback)" if rank == 1 else p for p in prov]
            got.append([_interval_json(i) for i in agg.submit("eval", joules, prov, "eval", final=True)])
        elif scenario == "order":
            agg.submit("train" if rank == 0 else "eval", joules, prov, None)
        elif scenario in ("killed", "stuck"):
            agg.submit("train", joules, prov, "first")
            if rank == 1:
                Path(out_dir, "rank1-mid-stage").write_text("x")
                if scenario == "killed":
                    os._exit(9)
                time.sleep(TIMEOUT_S + 1.5)
                return
            time.sleep(0.2)
            t0 = time.perf_counter()
            agg.submit("train", joules, prov, "second")
        result["got"] = got
        after = agg.submit("after", joules, prov, "after") if scenario != "basic" else []
        result["after"] = [_interval_json(i) for i in after]
        agg.close()
    except DistributedError as err:
        result["error"] = {"type": type(err).__name__, "message": str(err), "seconds": time.perf_counter() - t0,
                           "pending": [_interval_json(i) for i in err.pending]}
        if scenario != "no-writer-on-rank1":
            after = agg.submit("after", joules, prov, "after")
            result["after"] = [_interval_json(i) for i in after]
            result["close"] = [_interval_json(i) for i in agg.close()]
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
    # same host: rank 0 measures host-level cpu/ram; rank 1 only its GPU and its per-process model
    assert r0["devices"] == ["cpu:0", "ram", "gpu:0", "proc"]
    assert r1["devices"] == ["gpu:0", "proc"]
    assert r0["extra"]["world_size"] == 2 and r0["extra"]["hosts"] == {r0["extra"]["ranks"][0]["host"]: [0, 1]}
    assert set(r0["meta"]) == {"r0/cpu:0", "r0/ram", "r0/gpu:0", "r0/proc", "r1/gpu:0", "r1/proc"}
    # flush_every=3: nothing after updates 0 and 1, three intervals at update 2, one at update 3 + stop
    sizes = [len(g) for g in r0["got"]]
    assert sizes == [0, 0, 3, 0, 2, 1]
    flat = [iv for g in r0["got"] for iv in g]
    assert [iv["payload"] for iv in flat] == [0, 1, 2, 3, "stop", "eval"]
    for iv in flat:
        assert iv["complete"]
        joules = {k: v[1] for k, v in iv["devices"].items()}
        assert joules == {"r0/cpu:0": 10.0, "r0/ram": 11.0, "r0/gpu:0": 12.0, "r0/proc": 13.0,
                          "r1/gpu:0": 20.0, "r1/proc": 21.0}
        assert sum(joules.values()) == pytest.approx(87.0, rel=1e-12)
    # a provenance change on rank 1 reaches every rank's view
    assert flat[-1]["devices"]["r1/gpu:0"][2] == "test-gpu (fallback)"
    assert flat[0]["devices"]["r1/gpu:0"][2] == "test-gpu"
    assert r1["got"] == r0["got"]  # every rank sees the same job intervals


def test_stage_order_mismatch_is_a_clear_error_on_every_rank(tmp_path: Path) -> None:
    res, outs = _run(tmp_path, "order")
    for r in (0, 1):
        err = outs[r]["error"]
        assert err["type"] == "StageOrderError"
        assert "rank 0: #0 stop('train')" in err["message"] and "rank 1: #0 stop('eval')" in err["message"]
        assert "same order" in err["message"]
        # this rank's own interval is handed back, and measuring goes on rank-locally without collectives
        assert len(err["pending"]) == 1 and not err["pending"][0]["complete"]
        assert outs[r]["after"][0]["complete"] is False
        assert all("job aggregation failed" in d[2] for d in outs[r]["after"][0]["devices"].values())
        assert all(k.startswith(f"r{r}/") for k in outs[r]["after"][0]["devices"])


@pytest.mark.parametrize("scenario", ["killed", "stuck"])
def test_dead_or_stuck_rank_gives_clear_error_within_timeout(tmp_path: Path, scenario: str) -> None:
    t0 = time.perf_counter()
    res, outs = _run(tmp_path, scenario, deadline=TIMEOUT_S * 3 + 25)
    assert (tmp_path / "rank1-mid-stage").exists()
    err = outs[0]["error"]
    assert err["type"] == "RankTimeoutError", err
    assert "a rank died, is stuck" in err["message"] and "stage 'train'" in err["message"]
    assert err["seconds"] < TIMEOUT_S + 2.0, err  # the configured timeout, not gloo's 30 min default
    assert err["pending"][0]["payload"] == "second"
    assert outs[0]["close"] == []  # close() does not wait again
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
