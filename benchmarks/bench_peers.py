"""Our writer side by side with the peers, each used as its users use it (benchmarks/peers.py).

Every repeat runs one variant per fresh process, the variants interleaved
(A B C, B C A, ...) over repeats: start-up and memory, the training loop (a small
CNN logging ``add_scalar(loss)`` each step on a plain ``SummaryWriter``, the
tracker added the documented way) and CPU while training idles. The baseline of
every ratio is that same loop with plain ``SummaryWriter`` and no tracker, so the
greenops_tb rows answer: what does adding it cost against plain ``SummaryWriter``?
A tracker that records no energy on this machine gets a row that says so and
no ratio; one that cannot be installed gets a row saying why.

    python benchmarks/bench_peers.py [--quick] [--variants tensorboard greenops ...]
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Stat, interleave, row, run_child  # noqa: E402
from peers import BASELINE, VARIANTS, Variant  # noqa: E402

log = logging.getLogger(__name__)
PEERS_PY = str(Path(__file__).resolve().parent / "peers.py")
MS = 1e3


@dataclass(frozen=True)
class Settings:
    """Repeat counts; ``quick`` keeps the whole module to about a minute."""

    rounds: int
    epochs: int
    steps: int  # per epoch
    idle_s: float

    @classmethod
    def make(cls, quick: bool) -> "Settings":
        if quick:
            return cls(rounds=1, epochs=2, steps=20, idle_s=1.0)
        return cls(rounds=3, epochs=3, steps=100, idle_s=5.0)


def available(keys: list[str] | None = None) -> tuple[dict[str, Variant], list[dict]]:
    """Variants that can run here, and a row for each one that cannot."""
    ok: dict[str, Variant] = {}
    missing: list[dict] = []
    for key, cls in VARIANTS.items():
        if keys is not None and key not in keys and key != BASELINE:
            continue
        v = cls()
        why = v.unavailable()
        if why:
            missing.append(row(v.label, None, "", note=f"cannot run here: {why}"))
        else:
            ok[key] = v
    return ok, missing


def sessions(variants: dict[str, Variant], s: Settings, tmp: Path) -> dict[str, list[dict]]:
    """One fresh ``peers.py`` process per variant and round, variants rotated every round (A B C, B C A, ...);
    the idle measurement in the first round only."""
    results: dict[str, list[dict]] = {k: [] for k in variants}
    rounds = iter(range(10**9))

    def sampler(key: str):
        def one() -> float:
            r = len(results[key])
            idle = s.idle_s if r == 0 else 0.0
            out = run_child([PEERS_PY, key, str(tmp / f"{key}-{next(rounds)}"), str(s.epochs), str(s.steps), str(idle)])
            results[key].append(out)
            return out["wall_s"]
        return one

    interleave({k: sampler(k) for k in variants}, s.rounds)
    return results


def _nothing(v: Variant) -> str | None:
    why = v.measures_nothing()
    return f"measures nothing on this machine: {why}" if why else None


def startup_rows(variants: dict[str, Variant], res: dict[str, list[dict]], s: Settings) -> list[dict]:
    t = {k: Stat.of([x["startup_s"] for x in v]) for k, v in res.items()}
    mem = {k: Stat.of([x["rss_delta"] for x in v], 1 / 2**20) for k, v in res.items()}
    base_label = VARIANTS[BASELINE].label
    rows = []
    for key, v in variants.items():
        nothing = _nothing(v)
        same = key != BASELINE and not nothing
        note = nothing or v.coverage()
        rows.append(row(f"start-up: {v.label}", t[key], "s", baseline=base_label if same else "",
                        base=t[BASELINE] if same else None,
                        target="<= 0.2 s" if key.startswith("greenops") else "",
                        met=t[key].median <= 0.2 if key.startswith("greenops") else None,
                        note=f"import + construct + start + first epoch window, after import torch; fresh process; "
                        f"{note}".rstrip("; ")))
        rows.append(row(f"memory: {v.label}", mem[key], "MiB", baseline=base_label if same else "",
                        base=mem[BASELINE] if same else None,
                        note=nothing or "RSS growth over the same span, after import torch"))
    return rows


def train_rows(variants: dict[str, Variant], res: dict[str, list[dict]], s: Settings) -> list[dict]:
    step = {k: Stat.of([x["step_s"] for x in v], MS) for k, v in res.items()}
    cpu = {k: Stat.of([x["cpu_step_s"] for x in v], MS) for k, v in res.items()}
    fixed = {k: Stat.of([x["begin_end_s"] for x in v], MS) for k, v in res.items()}
    work = f"small CNN (28x28, batch 32, 1 thread), {s.epochs} epochs x {s.steps} steps, add_scalar(loss) each step"
    base = step[BASELINE]
    rows = []
    for key, v in variants.items():
        nothing = _nothing(v)
        same = key != BASELINE and not nothing
        kwh = [x["energy_kwh"] for x in res[key]]
        if key == BASELINE:
            reported = ""
        elif kwh and kwh[0] is not None:
            reported = f"; tracker reported {kwh[0]:.3g} kWh (first round)"
        else:
            reported = "; tracker reported no energy"
        slow = f"; {(step[key].median / base.median - 1) * 100:+.1f}% per step" if same else ""
        rows.append(row(f"training step: {v.label}; {work}", step[key], "ms",
                        baseline=VARIANTS[BASELINE].label + ", same loop" if same else "", base=base if same else None,
                        target="<= 1.01x plain SummaryWriter" if key.startswith("greenops") else "",
                        met=step[key].median <= 1.01 * base.median if key.startswith("greenops") else None,
                        note=(nothing or f"{v.usage}{slow}{reported}; {v.coverage()}".rstrip("; "))))
        rows.append(row(f"training step, CPU of all threads: {v.label}", cpu[key], "ms CPU",
                        baseline=VARIANTS[BASELINE].label + ", same loop" if same else "",
                        base=cpu[BASELINE] if same else None,
                        note=nothing or "process CPU time per step: the tracker's background threads included"))
        if key in ("codecarbon", "codecarbon-tasks"):
            rows.append(row(f"tracker start() + stop() around training: {v.label}", fixed[key], "ms",
                            note="paid once per training run, outside the per-step figure"))
    return rows


def idle_rows(variants: dict[str, Variant], res: dict[str, list[dict]], s: Settings) -> list[dict]:
    rows = []
    for key, v in variants.items():
        frac = Stat.of([r["cpu_s"] / r["wall_s_idle"] * 100 for r in res[key] if "cpu_s" in r])
        ours = key.startswith("greenops")
        rows.append(row(f"background CPU, training idle {s.idle_s:g} s in an open epoch: {v.label}", frac,
                        "% of a core", target="<= 0.5%" if ours else "", met=frac.median <= 0.5 if ours else None,
                        note=_nothing(v) or "process CPU time / wall; first round's process of each variant"))
    return rows


def run(quick: bool = False, variants: list[str] | None = None, settings: Settings | None = None) -> list[dict]:
    """Every measurement of this module as rows; ``variants`` limits which run (the baseline always does)."""
    s = settings or Settings.make(quick)
    avail, rows = available(variants)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="greenops-bench-") as d:
        res = sessions(avail, s, Path(d))
    log.info("%d variants x %d rounds in %.1f s", len(avail), s.rounds, time.perf_counter() - t0)
    for part in (startup_rows, train_rows, idle_rows):
        rows += part(avail, res, s)
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny repeat counts (about a minute)")
    p.add_argument("--variants", nargs="*", help=f"subset of {list(VARIANTS)}")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from run_all import format_table

    print(format_table(run(args.quick, args.variants)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
