"""Energy per inference request of a small CNN's variants side by side, and their cost at a million requests a day.

    python examples/inference_variants.py --logdir runs/inference --country FR
    greenops-tb inference runs/inference/cnn --requests-per-day 1000000
    tensorboard --logdir runs/inference   # the Green tab: select the variants' runs

Eager, inference_mode, TorchScript, torch.compile, bf16 autocast and channels_last run in interleaved rounds;
each is its own green run under ``<logdir>/cnn``. ``--no-compile`` leaves torch.compile out (it takes tens of
seconds to compile on a small CPU); it is then listed as not built, with that reason.
"""
from __future__ import annotations

import argparse
import os

import torch
from torch import nn

from greenops_tb import InferenceBench
from greenops_tb.commands.inference import render


class SmallCNN(nn.Module):
    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(32 * 8 * 8, 64), nn.ReLU(), nn.Linear(64, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--logdir", default="runs/inference")
    ap.add_argument("--country", default=None, help="where it runs (ISO code), else GREENOPS_COUNTRY or a guess")
    ap.add_argument("--requests", type=int, default=200, help="requests per variant per round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: steadier on a busy machine)")
    ap.add_argument("--batch-size", type=int, nargs="+", default=[1])
    ap.add_argument("--requests-per-day", type=float, default=1_000_000)
    ap.add_argument("--no-compile", action="store_true", help="leave torch.compile out")
    args = ap.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    model = SmallCNN().eval()
    example = torch.randn(1, 3, 32, 32)
    bench = InferenceBench(os.path.join(args.logdir, "cnn"), country=args.country)
    if args.no_compile:
        bench.add_standard(model, example, skip=("compile",))
    else:
        bench.add_standard(model, example)
    result = bench.run(requests=args.requests, batch_size=args.batch_size, rounds=args.rounds, warmup=3)
    print(render(result, result.at_scale(args.requests_per_day)))


if __name__ == "__main__":
    main()
