"""Many small runs are read in a few provider calls, not a listing plus a read per run.

A real logdir of 40 small runs (benchmarks/gen_logdir.py, the writer's own event layout) under
TensorBoard's real Python data provider; a pass-through wrapper counts the calls. The speed figure
itself lives in benchmarks/bench_many_runs.py.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from gen_logdir import GenSpec, generate  # noqa: E402

from greenops_tb.analysis.run_summary import summarize  # noqa: E402
from greenops_tb.readers.events import read_runs  # noqa: E402
from greenops_tb.readers.runs import EXPERIMENT, Logdir, open_logdir  # noqa: E402

RUNS, RECORDS = 40, 20


class Counting:
    """The real provider, with its list/read calls counted."""

    def __init__(self, inner):
        self.inner, self.lists, self.reads = inner, 0, 0

    def list_tensors(self, *a, **kw):
        self.lists += 1
        return self.inner.list_tensors(*a, **kw)

    def read_tensors(self, *a, **kw):
        self.reads += 1
        return self.inner.read_tensors(*a, **kw)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sweep")
    generate(root, GenSpec(runs=RUNS, records=RECORDS))
    return root


def test_all_runs_in_a_few_calls_with_the_same_numbers(sweep):
    from tensorboard.context import RequestContext

    with open_logdir(sweep, "python") as ld:
        spy = Counting(ld.provider)
        batched = Logdir(ld.path, spy, ld.runs, ld.listing)
        got = [summarize(d) for d in batched.read_all(ld.runs)]
        assert spy.lists == 0 and spy.reads == 1, (spy.lists, spy.reads)  # 40 x 20 records: one batch
        one_by_one = [summarize(read_runs(ld.provider, RequestContext(), EXPERIMENT, runs=[r])[r]) for r in ld.runs]
    assert len(got) == RUNS and [s["run"] for s in got] == sorted(f"run_{i:03d}" for i in range(RUNS))
    assert got == one_by_one
    assert all(s["records_kept"] == RECORDS for s in got)


def test_batches_stay_near_the_record_budget(sweep, monkeypatch):
    import greenops_tb.readers.runs as runs_mod

    monkeypatch.setattr(runs_mod, "BATCH_RECORDS", 3 * RECORDS)  # about three runs per batch
    with open_logdir(sweep, "python") as ld:
        spy = Counting(ld.provider)
        batched = Logdir(ld.path, spy, ld.runs, ld.listing)
        assert sum(len(d.records) for d in batched.read_all(ld.runs)) == RUNS * RECORDS
    assert RUNS // 3 <= spy.reads <= RUNS // 2, spy.reads


def test_the_tabs_summary_lists_the_runs_once(sweep):
    """A /summary lists the experiment's runs once (the cache's listing) and reads the run once."""
    from tensorboard.context import RequestContext

    from greenops_tb.plugin.cache import SummaryCache

    with open_logdir(sweep, "python") as ld:
        spy = Counting(ld.provider)
        summary = SummaryCache(spy).summary(RequestContext(), EXPERIMENT, ld.runs[0])
    assert (spy.lists, spy.reads) == (1, 1)
    assert summary["run"] == ld.runs[0] and summary["records_kept"] == RECORDS
