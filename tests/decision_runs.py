"""Real runs for the what-if, uncertainty and report tests: known constant power, or a live grid, or RAPL."""
from __future__ import annotations

import csv
import time
from pathlib import Path

import torch
from grid_http import Routes, serve
from training import train

from greenops_tb import GreenSummaryWriter
from greenops_tb.meters.constant import ConstantPowerSource

CPU_W, RAM_W = 40.0, 5.0


def constant_run(log_dir: Path, *, pue: float = 1.2, country: str = "DE", steps: int = 12, **kw: object) -> Path:
    """A real torch run with 40 W CPU + 5 W RAM (label ``constant``); returns its CSV path."""
    meters = [ConstantPowerSource({"cpu:0": CPU_W, "ram": RAM_W})]
    path = train(log_dir, steps=steps, eval_every=4, country=country, pue=pue, meters=meters, **kw).csv_path
    assert path is not None
    return path


BATCH, TOKENS_PER_SAMPLE = 32, 128


def counted_run(log_dir: Path, *, steps: int = 12, country: str = "DE", pue: float = 1.2) -> Path:
    """A real torch run at known power that counts its work: ``BATCH`` samples of ``TOKENS_PER_SAMPLE`` tokens
    per ``train`` step (passed to ``update``), and the eval samples through ``count``; returns the CSV path."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x, y = torch.randn(BATCH, 16), torch.randn(BATCH, 1)
    with GreenSummaryWriter(str(log_dir), country=country, pue=pue,
                            meters=[ConstantPowerSource({"cpu:0": CPU_W, "ram": RAM_W})]) as w:
        w.start("train")
        for step in range(steps):
            loss = torch.nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            w.update("train", step=step, samples=BATCH, tokens=BATCH * TOKENS_PER_SAMPLE)
            if step % 4 == 3:
                with w.stage("eval"), torch.no_grad():
                    model(x)
                    w.count("eval", samples=BATCH)
        w.stop("train")
        path = Path(w.csv_path)
    return path


def csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def has_module(name: str) -> bool:
    """Whether ``name`` imports (an optional extra such as huggingface_hub or pandas)."""
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def _uk_body(value: float, stamp: str) -> bytes:
    import json

    return json.dumps({"data": [{"from": stamp, "to": stamp, "intensity": {"forecast": value, "actual": value}}]}).encode()


GENERATION = (b'{"data": {"from": "T0", "to": "T0", "generationmix": '
              b'[{"fuel": "gas", "perc": 60.0}, {"fuel": "wind", "perc": 40.0}]}}')


def live_run(log_dir: Path, values: list[float], seconds: list[float], *, pue: float = 1.1) -> Path:
    """A run in GB priced by the UK live provider (a local server): one ``train`` interval per value, about
    ``seconds[i]`` long, the provider answering ``values[i]`` during interval i; returns the CSV path."""
    routes = Routes({"/intensity": (200, {"Content-Type": "application/json"}, _uk_body(values[0], "T0"), 0.0),
                     "/generation": (200, {"Content-Type": "application/json"}, GENERATION, 0.0)})
    with serve(routes) as url:
        w = GreenSummaryWriter(str(log_dir), country="GB", pue=pue, live="uk-carbon-intensity",
                               live_options={"base_url": url, "refresh_s": 0.02},
                               meters=[ConstantPowerSource({"cpu:0": CPU_W})])
        w.start("train")
        for i, (v, s) in enumerate(zip(values, seconds)):
            routes["/intensity"] = (200, {"Content-Type": "application/json"}, _uk_body(v, f"T{i}"), 0.0)
            deadline = time.monotonic() + 10
            while w._grid.current().carbon_intensity_g_per_kwh != v:  # the live grid picked the new value up
                assert time.monotonic() < deadline, "the live grid never saw the new intensity"
                time.sleep(0.01)
            time.sleep(s)
            w.update("train")
        w.stop("train")
        path = Path(w.csv_path)
        w.close()
    return path
