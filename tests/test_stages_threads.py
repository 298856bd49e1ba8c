"""8 threads opening and closing (and updating) stages concurrently."""
from __future__ import annotations

import threading

import pytest

from greenops_tb import ConstantPowerSource, GreenSummaryWriter
from greenops_tb.readers.csv import read_records

P = 120.0


def test_eight_threads_consistent_totals(tmp_path):
    w = GreenSummaryWriter(str(tmp_path / "run"), country="US", meters=[ConstantPowerSource({"cpu:0": P})])
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker(i: int) -> None:
        try:
            barrier.wait()
            for j in range(40):
                with w.stage(f"worker{i}"):
                    w.start(f"worker{i}/inner")
                    w.update(f"worker{i}/inner")
                    w.stop(f"worker{i}/inner")
        except BaseException as err:  # noqa: BLE001 - collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    totals = w.totals()
    w.close()
    assert errors == []
    recs = read_records(tmp_path / "run" / "green.csv")
    assert len(recs) == 8 * 40 * 3
    assert [r.seq for r in recs] == list(range(len(recs)))  # written in emission order, none lost
    for i in range(8):
        outer = [r for r in recs if r.stage == f"worker{i}"]
        inner = [r for r in recs if r.stage == f"worker{i}/inner"]
        assert len(outer) == 40 and len(inner) == 80
        assert [r.epoch for r in outer] == list(range(40))
        assert outer[-1].stage_energy_kwh == pytest.approx(sum(r.energy_kwh for r in outer), rel=1e-9)
        assert totals.stages[f"worker{i}"].energy_kwh == pytest.approx(outer[-1].stage_energy_kwh, rel=1e-12)
        # each inner interval lies within its outer one, so the outer stage saw at least as much energy
        assert outer[-1].stage_energy_kwh >= inner[-1].stage_energy_kwh
    run_kwh = recs[-1].run_energy_kwh
    assert totals.total.energy_kwh == pytest.approx(run_kwh, rel=1e-12)
    assert run_kwh < sum(r.energy_kwh for r in recs)  # overlapping stages counted once
    assert run_kwh >= max(totals.stages[f"worker{i}"].energy_kwh for i in range(8))
    assert run_kwh * 3.6e6 == pytest.approx(P * recs[-1].run_duration_s, rel=1e-3)
    assert all(b.run_energy_kwh >= a.run_energy_kwh for a, b in zip(recs, recs[1:]))
