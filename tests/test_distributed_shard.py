"""Rank shards without processes: what a source covers, rank tags, exact sums over ranks, and the merge of real
writers' shards (three ranks' writers in this process, each from its own launcher variables)."""
from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


def test_each_source_declares_what_it_covers():
    """Host-level sources are measured once per host; per-process models on every rank, also when relabelled."""
    from greenops_tb.distributed.host_claim import host_level
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


def test_rank_tags_round_trip():
    from greenops_tb.format.tags import RUN_METADATA_TAG, rank_tag_suffix, record_tag, split_rank_tag

    assert split_rank_tag(record_tag("eval/val") + rank_tag_suffix(12)) == ("green/eval/val/record", 12)
    assert split_rank_tag(RUN_METADATA_TAG + rank_tag_suffix(0)) == (RUN_METADATA_TAG, 0)
    assert split_rank_tag("green/train/record") == ("green/train/record", None)
    assert split_rank_tag("loss@rx") == ("loss@rx", None)


_values = st.one_of(st.none(), st.floats(min_value=-1e300, max_value=1e300))  # sums of up to 6 stay finite


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("ab"), st.integers(0, 5), _values), max_size=60))
def test_exact_sums_equal_fsum_of_each_ranks_latest(ops):
    from greenops_tb.readers.shards import ExactSums

    sums, latest = ExactSums(), {}
    for key, rank, value in ops:
        sums.set(key, rank, value)
        latest[(key, rank)] = value
        known = [v for (k, _), v in latest.items() if k == key and v is not None]
        assert sums.get(key) == (math.fsum(known) if known else None)


@pytest.fixture()
def three_ranks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Three ranks' writers in one run directory; rank 1 also runs a stage of its own; each rank's own totals."""
    from greenops_tb import GreenSummaryWriter
    from greenops_tb.meters.constant import ConstantPowerSource

    monkeypatch.setenv("GREENOPS_LOCK_DIR", str(tmp_path))
    writers = []
    for rank in range(3):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "3")
        meters = [ConstantPowerSource({"gpu:0": 100.0 + rank}, scope="device"),
                  ConstantPowerSource({"cpu:0": 30.0}, label="host", scope="host")]
        writers.append(GreenSummaryWriter(str(tmp_path / "job"), country="DE", meters=meters))
    for w in writers:
        w.start("train")
    for _ in range(3):
        time.sleep(0.005)
        for w in writers:
            w.update("train", samples=4)
    writers[1].start("extra")
    time.sleep(0.005)
    for w in writers:
        w.close()
    return tmp_path / "job", [w.totals() for w in writers]


def test_merged_stream_carries_job_running_totals(three_ranks) -> None:
    from greenops_tb.readers.csv import read_records
    from greenops_tb.readers.runs import load_run

    log_dir, totals = three_ranks
    data = load_run(str(log_dir), "python")
    assert [r.seq for r in data.records] == list(range(len(data.records)))
    assert [r.end_time for r in data.records] == sorted(r.end_time for r in data.records)
    own = {k: read_records(log_dir / f"green.rank{k}.csv") for k in range(3)}
    seen = {k: 0 for k in range(3)}
    latest: dict[int, float] = {}
    for rec in data.records:  # at every merged record: the sum of each rank's latest running total
        rank = int(next(iter(rec.devices)).split("/")[0][1:])
        mine = own[rank][seen[rank]]
        seen[rank] += 1
        assert (mine.stage, mine.seq) == (rec.stage, mine.seq) and mine.end_time == pytest.approx(rec.end_time)
        latest[rank] = mine.run_energy_kwh
        assert rec.run_energy_kwh == pytest.approx(math.fsum(latest.values()), rel=1e-12)
    shards = {r.rank: r for r in data.ranks}
    assert data.records[-1].run_energy_kwh == math.fsum(t.total.energy_kwh for t in totals)
    assert [shards[r].energy_kwh for r in range(3)] == [t.total.energy_kwh for t in totals]
    trains = [r for r in data.records if r.stage == "train"]
    assert trains[-1].stage_energy_kwh == math.fsum(t.stages["train"].energy_kwh for t in totals)
    assert trains[-1].stage_samples == 3 * 4 * 3
    (extra,) = [r for r in data.records if r.stage == "extra"]
    assert extra.stage_energy_kwh == totals[1].stages["extra"].energy_kwh, "a stage only rank 1 ran"
    assert set(extra.devices) == {"r1/gpu:0"}, "rank 0 holds the host claim: rank 1 measured its GPU only"
    assert set(data.records[-1].run_devices_kwh) == {"r0/gpu:0", "r0/cpu:0", "r1/gpu:0", "r2/gpu:0"}


def test_live_job_reads_back_while_its_ranks_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mid-run, the job reads back from what the shards hold so far; later reads see the ranks' newer records."""
    from greenops_tb import GreenSummaryWriter
    from greenops_tb.meters.constant import ConstantPowerSource
    from greenops_tb.readers.csv import read_records
    from greenops_tb.readers.runs import load_run

    writers = []
    for rank in range(2):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "2")
        writers.append(GreenSummaryWriter(str(tmp_path / "job"), country="DE",
                                          meters=[ConstantPowerSource({"gpu:0": 50.0 + rank}, scope="device")]))
    try:
        seen = []
        for _ in range(2):
            for w in writers:
                if not w.open_stages():
                    w.start("train")
                time.sleep(0.005)
                w.update("train")
                w.flush()
            data = load_run(str(tmp_path / "job"), "python")
            latest = [read_records(tmp_path / "job" / f"green.rank{k}.csv")[-1].run_energy_kwh for k in range(2)]
            assert data.records[-1].run_energy_kwh == math.fsum(latest)
            seen.append(len(data.records))
        assert seen == [2, 4]
    finally:
        for w in writers:
            w.close()


def test_forecast_of_a_job_counts_each_step_once(three_ranks) -> None:
    """The ranks' records of one step are one job step: per-step energy is the ranks' sum, not one rank's."""
    from greenops_tb.analysis.forecast import forecast
    from greenops_tb.readers.runs import load_run

    log_dir, totals = three_ranks
    trains = [r for r in load_run(str(log_dir), "python").records if r.stage == "train"]
    per_rank = len(trains) // 3
    f = forecast(trains, total_steps=2 * per_rank)
    assert f.done_steps == per_rank, "three ranks at the same steps are one job step each"
    so_far = math.fsum(t.stages["train"].energy_kwh for t in totals)
    assert f.energy_kwh.low > so_far * 1.3, "the remaining steps cost the whole job's per-step energy"
