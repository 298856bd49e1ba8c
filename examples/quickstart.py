"""Quickstart: train a small CNN on synthetic images (CPU, about 20-30 s) and measure every stage.

    python examples/quickstart.py                  # writes runs/quickstart
    tensorboard --logdir runs                      # Scalars tab + the Green tab
    python examples/quickstart.py --country FR --name quickstart-FR

Each epoch has a ``train`` stage (one record per batch via ``update``, counting its samples) and an
``eval`` stage; a final ``test`` stage scores the held-out set. The loss, the
learning rate and the eval accuracy are watched values, and ``watch_model``
splits the train stage's time and energy into forward and backward passes.
"""
from __future__ import annotations

import argparse
import os

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from greenops_tb import GreenSummaryWriter


def synthetic_images(n: int, generator: torch.Generator) -> TensorDataset:
    """``n`` noisy 1x28x28 images of 10 classes, each class a fixed random pattern."""
    patterns = torch.randn(10, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    labels = torch.randint(0, 10, (n,), generator=generator)
    images = patterns[labels] + 4.0 * torch.randn(n, 1, 28, 28, generator=generator)
    return TensorDataset(images, labels)


def small_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10),
    )


@torch.no_grad()
def accuracy(model: nn.Module, loader: DataLoader) -> float:
    model.eval()
    correct = sum(int((model(x).argmax(dim=1) == y).sum()) for x, y in loader)
    return correct / len(loader.dataset)  # type: ignore[arg-type]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", default="quickstart", help="run name: writes <logdir>/<name>")
    ap.add_argument("--country", default=os.environ.get("GREENOPS_COUNTRY", "DE"), help="where the training runs")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--logdir", default="runs")
    args = ap.parse_args()

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    train = DataLoader(synthetic_images(16384, gen), batch_size=64, shuffle=True, generator=gen)
    val = DataLoader(synthetic_images(1024, gen), batch_size=256)
    test = DataLoader(synthetic_images(2048, gen), batch_size=256)
    model = small_cnn()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=args.epochs * len(train))
    loss_fn = nn.CrossEntropyLoss()
    last = {"loss": float("nan"), "accuracy": float("nan")}  # watched: read at every record

    with GreenSummaryWriter(os.path.join(args.logdir, args.name), country=args.country, hash_chain=True,
                            watch={"loss": lambda: last["loss"], "lr": opt, "accuracy": lambda: last["accuracy"]}) as writer:
        writer.watch_model(model, "train")  # forward / backward split of the train stage
        step = 0
        for epoch in range(args.epochs):
            model.train()
            with writer.stage("train", epoch=epoch):
                for x, y in train:
                    loss = loss_fn(model(x), y)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    sched.step()
                    last["loss"] = loss.item()
                    writer.add_scalar("train/loss", last["loss"], step)
                    writer.update("train", step=step, samples=len(y))  # work units: J and gCO2e per sample
                    step += 1
            with writer.stage("eval", step=step, epoch=epoch):
                last["accuracy"] = accuracy(model, val)
                writer.count("eval", samples=len(val.dataset))
            writer.add_scalar("eval/accuracy", last["accuracy"], step)
            print(f"epoch {epoch}: loss {last['loss']:.3f}, eval accuracy {last['accuracy']:.3f}")
        with writer.stage("test", step=step):
            test_acc = accuracy(model, test)
        writer.add_scalar("test/accuracy", test_acc, step)
        print(f"test accuracy {test_acc:.3f}\n")
        print(writer)
        print(f"\nCSV: {writer.csv_path}\nTensorBoard: tensorboard --logdir {args.logdir}")


if __name__ == "__main__":
    main()
