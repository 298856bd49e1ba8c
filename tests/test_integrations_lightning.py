"""Lightning callback: a real Trainer on a tiny model; stages read back from CSV and events."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from conftest import require
from greenops_tb.meters.constant import ConstantPowerSource
from greenops_tb.readers.csv import read_records
from greenops_tb.readers.events import local_provider, read_runs


try:
    import lightning.pytorch as pl
except ImportError:  # the tests below then fail in CI / skip locally through require()
    pl = None


def _lightning():
    require(pl is not None, "lightning (pip install 'greenops_tb[lightning]')")
    return pl


if pl is not None:

    class Tiny(pl.LightningModule):  # module level, so ddp_spawn's processes can unpickle it
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Linear(4, 1)

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            self.log("train_loss", loss, on_step=True)
            return loss

        def validation_step(self, batch, batch_idx):
            self.log("val_loss", torch.nn.functional.mse_loss(self.net(batch[0]), batch[1]))

        def test_step(self, batch, batch_idx):
            self.log("test_loss", torch.nn.functional.mse_loss(self.net(batch[0]), batch[1]))

        def predict_step(self, batch, batch_idx):
            return self.net(batch[0])

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)


def _read_back(log_dir: Path):
    from tensorboard.context import RequestContext

    runs = read_runs(local_provider(str(log_dir)), RequestContext(), "")
    assert len(runs) == 1, runs.keys()
    return read_records(log_dir / "green.csv"), next(iter(runs.values()))


def test_fit_validate_test_predict_become_stages(tmp_path: Path) -> None:
    pl = _lightning()
    from greenops_tb.integrations.lightning import GreenCallback

    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 1))
    loader = torch.utils.data.DataLoader(data, batch_size=8)  # 4 batches
    cb = GreenCallback(country="DE", meters=[ConstantPowerSource({"cpu:0": 50.0, "ram": 5.0})],
                       per_batch=True, watch_metrics=("train_loss",))
    trainer = pl.Trainer(max_epochs=2, limit_val_batches=2, num_sanity_val_steps=1, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         default_root_dir=str(tmp_path), accelerator="cpu", devices=1, callbacks=[cb])
    model = Tiny()
    trainer.fit(model, loader, loader)
    trainer.validate(model, loader, verbose=False)
    trainer.test(model, loader, verbose=False)
    trainer.predict(model, loader)
    cb.close()

    csv_recs, run = _read_back(tmp_path / "green")
    stages = [r.stage for r in csv_recs]
    assert stages.count("fit") == 1 and stages.count("sanity_check") == 1
    assert stages.count("train") == 2 * (4 + 1)  # per batch updates + the epoch's stop, 2 epochs
    assert stages.count("validate") == 3  # 2 in fit + trainer.validate
    assert stages.count("test") == 1 and stages.count("predict") == 1
    train = [r for r in csv_recs if r.stage == "train"]
    assert [r.epoch for r in train] == [0] * 5 + [1] * 5
    assert [r.step for r in train[:4]] == [1, 2, 3, 4]  # trainer.global_step after each optimizer step
    assert all(math.isfinite(r.watched["train_loss"]) for r in train)
    # stage totals are the sum of their records, and energy is the known constant power x time
    for name in set(stages):
        recs = [r for r in csv_recs if r.stage == name]
        assert recs[-1].stage_energy_kwh == pytest.approx(sum(r.energy_kwh for r in recs), rel=1e-9)
        for r in recs:
            assert r.energy_kwh * 3.6e6 == pytest.approx(55.0 * r.duration_s, rel=1e-3, abs=55.0 * 2e-4)
    # the events carry the same records (structured, full precision)
    assert [(r.seq, r.stage, r.energy_kwh) for r in run.records] == [(r.seq, r.stage, r.energy_kwh) for r in csv_recs]
    assert run.metadata is not None and run.metadata.location == "DE"
    assert csv_recs[0].run == f"{tmp_path.name}/green"  # as TensorBoard names it, started on the root's parent


def test_ddp_spawn_on_two_cpu_processes_writes_one_job_of_two_shards(tmp_path: Path) -> None:
    pl = _lightning()
    from greenops_tb.integrations.lightning import GreenCallback
    from greenops_tb.readers.runs import load_run

    data = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 1))
    loader = torch.utils.data.DataLoader(data, batch_size=4)  # 4 batches per rank with 2 ranks
    cb = GreenCallback(country="DE", meters=[ConstantPowerSource({"gpu:0": 10.0})], per_batch=True)
    trainer = pl.Trainer(max_epochs=1, limit_val_batches=0, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, default_root_dir=str(tmp_path),
                         strategy="ddp_spawn", accelerator="cpu", devices=2, callbacks=[cb])
    trainer.fit(Tiny(), loader)
    fit_kwh = []
    for rank in (0, 1):  # each rank its own shard, its own devices
        recs = read_records(tmp_path / "green" / f"green.rank{rank}.csv")
        assert [r.stage for r in recs] == ["train"] * 5 + ["fit"]
        assert all(set(r.devices) == {"gpu:0"} for r in recs)
        fit_kwh.append(recs[-1].stage_energy_kwh)
    job = load_run(str(tmp_path / "green"), "python")  # ONE run: both shards merged
    assert sorted(r.stage for r in job.records) == sorted((["train"] * 5 + ["fit"]) * 2)
    fit = [r for r in job.records if r.stage == "fit"][-1]
    assert fit.stage_energy_kwh == pytest.approx(sum(fit_kwh), rel=1e-9), "the job's fit: both ranks' together"
    by_rank = {r.rank: r.energy_kwh for r in job.ranks}
    assert by_rank[1] == pytest.approx(by_rank[0], rel=0.25), "both ranks' 10 W for about the same time"
    assert len(list((tmp_path / "green").glob("events.out.tfevents*"))) == 2
