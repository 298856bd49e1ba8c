"""The benchmark harness (benchmarks/) with tiny repeat counts, so it cannot rot.

Runs the real harness: a fresh child process per variant and round, the real
GreenSummaryWriter, plain SummaryWriter and torch training steps. Expectations
are hand-computed or come from outside the harness (process ids, the wall
clock, git), never from its own formulas.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_peers  # noqa: E402
import common  # noqa: E402
import run_all  # noqa: E402
from peers import VARIANTS  # noqa: E402

TINY = bench_peers.Settings(rounds=2, epochs=2, steps=5, idle_s=0.3)


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, list[dict]], float, float]:
    variants, _ = bench_peers.available(["tensorboard", "greenops"])
    t0 = time.perf_counter()
    res = bench_peers.sessions(variants, TINY, tmp_path_factory.mktemp("peers"))
    return res, t0, time.perf_counter()


def test_interleave_rotates_order_and_collects_every_round() -> None:
    calls: list[str] = []
    out = common.interleave({k: (lambda k=k: calls.append(k) or float(len(calls))) for k in "abc"}, rounds=3)
    assert calls == list("abcbcacab")
    assert out == {"a": [1.0, 6.0, 8.0], "b": [2.0, 4.0, 9.0], "c": [3.0, 5.0, 7.0]}


def test_stat_is_median_and_min_max_below_ten_samples_and_iqr_from_ten() -> None:
    s = common.Stat.of([3.0, 1.0, 2.0, 10.0])
    assert (s.median, s.lo, s.hi, s.n) == (2.5, 1.0, 10.0, 4)
    s = common.Stat.of([float(x) for x in range(1, 12)])  # 1..11: quartiles 3.5 and 8.5 (inclusive method)
    assert (s.median, s.lo, s.hi, s.n) == (6.0, 3.5, 8.5, 11)


def test_a_row_has_a_ratio_only_against_a_baseline_value_and_says_within_noise_when_spreads_overlap() -> None:
    r = common.row("x", common.Stat(12.0, 11.0, 13.0, 5), "us", baseline="b", base=common.Stat(4.0, 3.5, 4.5, 5))
    assert r["ratio"] == 3.0 and not r["within_noise"] and r["spread"] == (11.0, 13.0) and r["n"] == 5
    r = common.row("x", common.Stat(12.0, 11.0, 13.0, 5), "us", baseline="b", base=common.Stat(10.0, 8.0, 11.5, 5))
    assert r["ratio"] is None and r["within_noise"]
    r = common.row("x", 7.0, "us", target="<= 15 us", met=True)
    assert r["ratio"] is None and r["base"] is None and r["met"] is True


def test_each_variant_and_round_runs_in_its_own_fresh_process(sessions) -> None:
    res, t0, t1 = sessions
    pids = [s["pid"] for v in res.values() for s in v]
    assert len(pids) == 4 and len(set(pids)) == 4 and os.getpid() not in pids
    for samples in res.values():
        assert len(samples) == TINY.rounds
        for s in samples:
            assert 0 < s["startup_s"] < s["wall_s"] < t1 - t0
            # the training loop ran 2 x 5 steps inside the child: at least that much wall time per step
            assert 0 < s["step_s"] * TINY.epochs * TINY.steps < s["wall_s"]
        assert "cpu_s" in samples[0] and "cpu_s" not in samples[1]  # idle measured in the first round only
    assert res["tensorboard"][0]["energy_kwh"] is None
    assert res["greenops"][0]["energy_kwh"] > 0


def test_peer_rows_name_the_baseline_measured_in_the_same_run(sessions) -> None:
    res, _, _ = sessions
    variants, _ = bench_peers.available(["tensorboard", "greenops"])
    rows = {r["name"]: r for r in bench_peers.train_rows(variants, res, TINY)}
    plain = next(r for n, r in rows.items() if n.startswith("training step: plain SummaryWriter"))
    ours = next(r for n, r in rows.items() if n.startswith("training step: greenops_tb"))
    assert plain["base"] is None and plain["ratio"] is None
    assert ours["base"] == plain["value"]  # the baseline cell is the plain loop's own row
    assert ours["baseline"].startswith("plain SummaryWriter")
    per_step = sorted(s["step_s"] * 1e3 for s in res["greenops"])
    assert ours["value"] == pytest.approx(sum(per_step) / 2) and ours["spread"] == pytest.approx(tuple(per_step))


def test_a_tracker_that_measures_nothing_here_gets_no_ratio() -> None:
    zeus = VARIANTS["zeus"]()
    res = {k: [{"startup_s": 1.0, "rss_delta": 2**20, "step_s": 0.01, "cpu_step_s": 0.01, "begin_end_s": 0.0,
                "energy_kwh": None}] for k in ("tensorboard", "zeus")}
    zeus.measures_nothing = lambda: "no GPU and no RAPL here"  # what Zeus reports on a CPU-only machine
    variants = {"tensorboard": VARIANTS["tensorboard"](), "zeus": zeus}
    rows = bench_peers.startup_rows(variants, res, TINY) + bench_peers.train_rows(variants, res, TINY)
    for r in rows:
        if "Zeus" in r["name"]:
            assert r["ratio"] is None and r["base"] is None and "measures nothing on this machine" in r["note"]


def test_every_variant_is_either_runnable_or_gets_a_row_saying_why() -> None:
    avail, missing = bench_peers.available(None)
    explained = {r["name"] for r in missing}
    for key, cls in VARIANTS.items():
        assert (key in avail) != (cls.label in explained)
    assert all(r["value"] is None and r["note"].startswith("cannot run here:") for r in missing)


def test_results_markdown_has_stamp_rule_machine_and_every_row(tmp_path: Path) -> None:
    rows = [common.row("a", common.Stat(2.0, 1.5, 2.5, 3), "s", baseline="b", base=1.0, target="<= 5 s", met=True),
            common.row("b", 1.0, "s")]
    md = run_all.format_markdown(rows, "python benchmarks/run_all.py --quick", quick=True, seconds=1.0,
                                 stamp=("abc", "def"))
    assert "QUICK mode" in md and "- torch: " in md and "- cpu: " in md
    assert "- commit: abc" in md and "- benchmarks/*.py sha256: def" in md
    table = [ln for ln in md.splitlines() if ln.startswith("| ")]
    assert table[1].split(" | ")[1:11] == ["a", "2.00", "1.50 - 2.50", "3", "s", "b", "1.00", "2.00x", "<= 5 s", "met"]
    assert len(table) == 3


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True,
                   capture_output=True)


def test_run_all_refuses_results_md_from_a_dirty_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    here = tmp_path / "benchmarks"
    here.mkdir()
    (here / "bench_x.py").write_text("X = 1\n")
    (tmp_path / ".gitignore").write_text("benchmarks/out/\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "x")
    for name, value in (("HERE", here), ("RESULTS", here / "RESULTS.md"), ("DEV_RESULTS", here / "out" / "dev.md"),
                        ("MODULES", ())):
        monkeypatch.setattr(run_all, name, value)
    assert run_all.dirty() == []
    (here / "bench_x.py").write_text("X = 2\n")
    assert run_all.dirty() == ["benchmarks/bench_x.py"]
    with pytest.raises(SystemExit) as err:
        run_all.main([])
    assert err.value.code == 2 and "uncommitted changes" in capsys.readouterr().err
    assert not (here / "RESULTS.md").exists()
    assert run_all.main(["--allow-dirty"]) == 0
    assert not (here / "RESULTS.md").exists() and "(+ uncommitted changes)" in (here / "out" / "dev.md").read_text()
    _git(tmp_path, "commit", "-qam", "y")
    assert run_all.main([]) == 0
    text = (here / "RESULTS.md").read_text()
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    assert f"- commit: {head}\n" in text


def test_a_failing_module_becomes_a_row_and_the_others_still_run(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bench_broken.py").write_text("def run(quick=False):\n    raise ValueError('no data dir')\n")
    (tmp_path / "bench_ok.py").write_text(
        "from common import row\ndef run(quick=False):\n    return [row('x', 1.0, 's', note=str(quick))]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(run_all, "HERE", tmp_path)
    out = run_all.run_modules(["bench_broken", "bench_missing", "bench_ok"], quick=True)
    assert [r["name"] for r in out] == ["bench_broken FAILED", "x"]
    assert "ValueError: no data dir" in out[0]["note"]
    assert out[1]["module"] == "ok" and out[1]["note"] == "True"
