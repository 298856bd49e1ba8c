"""PyTorch Lightning on a tiny model, measured by GreenCallback: ``python examples/lightning_example.py``.

Needs ``pip install 'greenops_tb[lightning]'``. Writes ``runs/lightning/green``, the run
``lightning/green`` (stages fit, train per epoch, validate, sanity_check, test). Under DDP
(``Trainer(strategy="ddp", devices=2)``) the job's totals go to rank 0's files.
"""
from __future__ import annotations

import argparse

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from greenops_tb.integrations.lightning import GreenCallback


class Regressor(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))

    def training_step(self, batch, batch_idx):
        loss = torch.nn.functional.mse_loss(self.net(batch[0]), batch[1])
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(batch[0]), batch[1]))

    def test_step(self, batch, batch_idx):
        self.log("test_loss", torch.nn.functional.mse_loss(self.net(batch[0]), batch[1]))

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default="runs/lightning")
    ap.add_argument("--country", default="DE")
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args()
    torch.manual_seed(0)
    data = TensorDataset(torch.randn(512, 16), torch.randn(512, 1))
    loader = DataLoader(data, batch_size=64)
    green = GreenCallback(country=args.country, watch_metrics=("train_loss",))
    trainer = pl.Trainer(max_epochs=args.epochs, default_root_dir=args.root, logger=False, accelerator="cpu",
                         devices=1, enable_checkpointing=False, callbacks=[green])
    model = Regressor()
    trainer.fit(model, loader, loader)
    trainer.test(model, loader, verbose=False)
    if trainer.is_global_zero:
        print(green.writer)
    green.close()


if __name__ == "__main__":
    main()
