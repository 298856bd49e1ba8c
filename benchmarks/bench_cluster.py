"""Clusters (issue 14): exchange cost per stage boundary as the job grows, 2 to 16 gloo ranks on this machine.

    python benchmarks/bench_cluster.py [--quick]   # prints rows, writes benchmarks/results/cluster.json

For each world size a fresh launcher imports everything once and forks the
ranks (``tests/distributed_harness.fork_ranks``), simulated as hosts of 4 ranks
(``GREENOPS_HOST_ID``; 2 ranks: one host). Every rank measures a GPU with
device context (``mem_used_gb``) and its host's CPU/RAM (the host's lowest
rank only), and times, interleaved: a boundary that exchanges (one gloo
``all_gather`` of header + joules + context per rank) and a bare ``all_gather``
of a tensor of the same width. Rank 0's medians are reported, each against
the 2-rank figure: on one machine every rank shares its cores, so growth here
is an upper bound of the protocol's (gloo's ring grows with ranks, the row
does not).
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO, interleave, median, per_call, python_env, row, standalone  # noqa: E402

US = 1e6
WORLDS = (2, 4, 8, 16)
PER_HOST = 4


def _launch(world: int, rounds: int, n: int, out: str) -> None:
    """In a fresh process: import once, fork ``world`` ranks, each timing exchanges; rank 0 writes ``out``."""
    sys.path.insert(0, str(REPO / "tests"))
    import torch
    import torch.distributed as dist
    from distributed_harness import fork_ranks, init_group

    from greenops_tb.distributed import JobAggregator, JobMeter
    from greenops_tb.meters.base import Meter
    from greenops_tb.meters.constant import ConstantPowerSource

    def rank_main(rank: int) -> None:
        init_group(60)

        class Gpu(ConstantPowerSource):
            def context(self):
                return [{"mem_used_gb": 10.0 + rank}]

        meter = JobMeter(Meter([Gpu({"gpu:0": 100.0}, scope="device"),
                                ConstantPowerSource({"cpu:0": 30.0, "ram": 5.0}, scope="host")]),
                         JobAggregator(timeout_s=60))

        def exchange() -> None:
            meter.expect("stop", "bench")
            meter.read()

        exchange()  # context keys are agreed at the first exchange; the timed ones carry them
        width = len(meter.aggregator._row_np)
        mine = torch.zeros(width, dtype=torch.float64)
        got = [torch.zeros(width, dtype=torch.float64) for _ in range(world)]
        samples = interleave({"exchange": lambda: per_call(exchange, n),
                              "bare": lambda: per_call(lambda: dist.all_gather(got, mine), n)}, rounds)
        if rank == 0:
            Path(out).write_text(json.dumps({k: median(v) for k, v in samples.items()} | {"width": width}))
        meter.close()
        dist.destroy_process_group()

    hosts = lambda r: {"GREENOPS_HOST_ID": f"bench-host{r // PER_HOST}", "LOCAL_RANK": str(r % PER_HOST),  # noqa: E731
                       "LOCAL_WORLD_SIZE": str(min(world, PER_HOST))}
    codes = fork_ranks(world, rank_main, hosts, deadline_s=600)
    if codes != [0] * world:
        raise SystemExit(f"ranks exited with {codes}")


def run(quick: bool = False) -> list[dict]:
    rounds, n = (3, 20) if quick else (11, 100)
    results: dict[int, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for world in WORLDS:
            out = str(Path(tmp, f"w{world}.json"))
            done = subprocess.run([sys.executable, str(Path(__file__)), "--launch", str(world), str(rounds), str(n),
                                   out], capture_output=True, text=True, timeout=900, env=python_env())
            if done.returncode != 0:
                raise RuntimeError(f"{world} ranks failed ({done.returncode}): {done.stderr[-2000:]}")
            results[world] = json.loads(Path(out).read_text())
    base = results[2]["exchange"]
    rows = []
    for world, m in results.items():
        hosts = max(1, world // PER_HOST)
        note = (f"{world} gloo ranks on one machine as {hosts} simulated host(s); median of {rounds} interleaved "
                f"batches of {n}; row {m['width']} floats; {m['exchange'] / base:.2f}x the 2-rank exchange")
        rows.append(row(f"cluster: boundary with exchange, {world} ranks", m["exchange"] * US, "us",
                        baseline=f"bare gloo all_gather, {world} ranks, same width", base=m["bare"] * US,
                        target="report: growth with ranks (issue 14)", note=note))
    return rows


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--launch"]:
        _launch(int(argv[1]), int(argv[2]), int(argv[3]), argv[4])
        return 0
    return standalone("cluster", run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
