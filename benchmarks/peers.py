"""Each tracker used the way its users use it, one tracker per fresh process.

Variants (``VARIANTS``): the user's training loop with plain ``SummaryWriter``
logging ``add_scalar(loss)`` each step (the baseline), and the same loop with
one tracker added:

* ``greenops``: ``GreenSummaryWriter`` replaces ``SummaryWriter`` (the user's
  ``add_scalar`` goes through it); a ``train`` stage per epoch;
  ``greenops-update`` also calls ``update("train")`` every step (the README's loop);
* ``codecarbon``: ``OfflineEmissionsTracker`` started once around training
  (its documented use); ``codecarbon-tasks``: its task API, one task per epoch;
* ``zeus``: a ``ZeusMonitor`` window per epoch;
* ``carbontracker``: ``epoch_start``/``epoch_end`` per epoch.

Run as a script, this module is the child process: one fresh process per
variant and repeat, which first times start-up (import + construct + start + first
epoch window, after ``import torch``), then the training loop with a new instance,
then, when ``IDLE_S`` > 0, CPU while training idles in an open epoch::

    python benchmarks/peers.py VARIANT LOGDIR EPOCHS STEPS IDLE_S
"""
from __future__ import annotations

import glob
import importlib.util
import logging
import os
import re
import sys
import time
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: where an Intel/AMD RAPL counter would be; none here means CPU energy is estimated or absent
RAPL_ROOT = Path("/sys/class/powercap/intel-rapl:0")


def has_gpu() -> bool:
    """An NVIDIA GPU NVML can see (checked without importing torch.cuda)."""
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            return pynvml.nvmlDeviceGetCount() > 0
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # noqa: BLE001 - no driver, no library: no GPU
        return False


def has_rapl() -> bool:
    return (RAPL_ROOT / "energy_uj").exists()


def hardware() -> str:
    """What a tool can read here: NVML GPUs and RAPL CPU counters, or neither."""
    return f"{'gpu: nvml' if has_gpu() else 'no GPU'}, {'cpu: rapl' if has_rapl() else 'no RAPL'}"


def _quiet() -> None:
    """Peers log and warn a lot at INFO/WARNING; the benchmark prints its own table."""
    warnings.simplefilter("ignore")
    for name in ("codecarbon", "carbontracker", "zeus", "apscheduler"):
        logging.getLogger(name).setLevel(logging.ERROR)


class Variant:
    """The user's loop with plain ``SummaryWriter`` logging; subclasses add one tracker."""

    key = "tensorboard"
    label = "plain SummaryWriter (no tracker)"
    module = ""  # the tracker's module; its package must be installed
    usage = "add_scalar(loss) each step"

    def unavailable(self) -> str | None:
        """Why this variant cannot run here, or None."""
        top = self.module.split(".")[0]
        if top and importlib.util.find_spec(top) is None:  # found, not imported: start-up is timed in children
            return f"{top} is not installed (pip install -r benchmarks/requirements.txt)"
        return None

    def coverage(self) -> str:
        """What the tracker can measure on this machine ("" for no tracker)."""
        return ""

    def measures_nothing(self) -> str | None:
        """Why the tracker records no energy at all on this machine, or None."""
        return None

    # -- life cycle, called by the children in this order ------------------------------------
    def open(self, logdir: str) -> Any:
        """Import and construct; returns the writer the user's ``add_scalar(loss)`` goes to."""
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(logdir)
        return self.writer

    def begin(self) -> None:
        """Training starts."""

    def epoch_start(self) -> None:
        pass

    def step(self) -> None:
        """After each step's ``add_scalar``."""

    def epoch_end(self) -> None:
        pass

    def end(self) -> float | None:
        """Training ends; the energy (kWh) the tracker reports, or None when it reports none."""
        return None

    def close(self) -> None:
        self.writer.close()


class GreenOps(Variant):
    key, label, module = "greenops", "greenops_tb GreenSummaryWriter (stage per epoch)", "greenops_tb.writer"
    usage = "add_scalar(loss) each step through it; start/stop('train') per epoch"

    def coverage(self) -> str:
        return hardware() + ("" if has_rapl() else " (cpu/ram: model-tdp estimate)")

    def open(self, logdir: str) -> Any:
        from greenops_tb import GreenSummaryWriter

        self.writer = GreenSummaryWriter(logdir, country="DE")
        return self.writer

    def epoch_start(self) -> None:
        self.writer.start("train")

    def epoch_end(self) -> None:
        self.writer.stop("train")

    def end(self) -> float | None:
        return self.writer.totals().total.energy_kwh


class GreenOpsUpdate(GreenOps):
    key, label = "greenops-update", "greenops_tb GreenSummaryWriter (stage per epoch + update() per step)"
    usage = "as above, plus update('train') each step (one CSV row + event per step)"

    def step(self) -> None:
        self.writer.update("train")


class CodeCarbon(Variant):
    key, label, module = "codecarbon", "CodeCarbon OfflineEmissionsTracker (start/stop once)", "codecarbon"
    usage = "tracker.start() before training, stop() after; add_scalar(loss) on a plain SummaryWriter"

    def coverage(self) -> str:
        return hardware() + ("" if has_rapl() else " (cpu: TDP model estimate)")

    def open(self, logdir: str) -> Any:
        _quiet()
        from codecarbon import OfflineEmissionsTracker

        Path(logdir).mkdir(parents=True, exist_ok=True)  # CodeCarbon refuses a missing output_dir
        self.tracker = OfflineEmissionsTracker(
            country_iso_code="DEU", save_to_file=False, output_dir=logdir, log_level="error"
        )
        return super().open(logdir)

    def begin(self) -> None:
        self.tracker.start()

    def end(self) -> float | None:
        self.tracker.stop()
        return self.tracker.final_emissions_data.energy_consumed


class CodeCarbonTasks(CodeCarbon):
    key, label = "codecarbon-tasks", "CodeCarbon OfflineEmissionsTracker task API (task per epoch)"
    usage = "start(), then start_task()/stop_task() per epoch, stop(); add_scalar(loss) on a plain SummaryWriter"

    def epoch_start(self) -> None:
        self._epoch = getattr(self, "_epoch", 0) + 1
        self.tracker.start_task(f"epoch{self._epoch}")

    def epoch_end(self) -> None:
        self._kwh = getattr(self, "_kwh", 0.0) + self.tracker.stop_task().energy_consumed

    def end(self) -> float | None:
        self.tracker.stop()
        return getattr(self, "_kwh", 0.0)


class Zeus(Variant):
    key, label, module = "zeus", "Zeus ZeusMonitor (window per epoch)", "zeus.monitor"
    usage = "begin_window/end_window per epoch; add_scalar(loss) on a plain SummaryWriter"

    def coverage(self) -> str:
        return hardware()

    def measures_nothing(self) -> str | None:
        if has_gpu() or has_rapl():
            return None
        return "Zeus reads GPUs (NVML/amdsmi) and CPUs (RAPL) only: with neither here its windows hold time, no energy"

    def open(self, logdir: str) -> Any:
        _quiet()
        from zeus.monitor import ZeusMonitor

        self.monitor = ZeusMonitor()
        self._joules = 0.0
        self._any = False
        return super().open(logdir)

    def epoch_start(self) -> None:
        self.monitor.begin_window("epoch", sync_execution=False)

    def epoch_end(self) -> None:
        m = self.monitor.end_window("epoch", sync_execution=False)
        parts = [*m.gpu_energy.values(), *(m.cpu_energy or {}).values(), *(m.dram_energy or {}).values()]
        self._any |= bool(parts)
        self._joules += sum(parts)

    def end(self) -> float | None:
        from greenops_tb.format.units import kwh  # here, not at import: the other variants' processes never load it

        return kwh(self._joules) if self._any else None


class CarbonTracker(Variant):
    key, label, module = "carbontracker", "carbontracker (epoch_start/epoch_end per epoch)", "carbontracker.tracker"
    usage = "epoch_start/epoch_end per epoch, stop() at the end; add_scalar(loss) on a plain SummaryWriter"

    def coverage(self) -> str:
        return hardware() + ("" if has_rapl() else " (cpu: TDP estimate)") + \
            "; tries an IP geolocation lookup (fails offline: world-average intensity)"

    def open(self, logdir: str) -> Any:
        _quiet()
        from carbontracker.tracker import CarbonTracker as CT

        self.logdir = logdir
        self.tracker = CT(epochs=10**6, epochs_before_pred=0, monitor_epochs=-1, log_dir=logdir, verbose=0,
                          update_interval=1)
        return super().open(logdir)

    def epoch_start(self) -> None:
        self.tracker.epoch_start()

    def epoch_end(self) -> None:
        self.tracker.epoch_end()

    def end(self) -> float | None:
        self.tracker.stop()
        text = "".join(Path(p).read_text() for p in glob.glob(os.path.join(self.logdir, "*_output.log")))
        found = re.findall(r"Energy:\s*([0-9.eE+-]+)\s*kWh", text)
        return float(found[-1]) if found else None


VARIANTS: dict[str, type[Variant]] = {
    v.key: v for v in (Variant, GreenOps, GreenOpsUpdate, CodeCarbon, CodeCarbonTasks, Zeus, CarbonTracker)
}
BASELINE = "tensorboard"


# -- child processes ------------------------------------------------------------------------
def make_step():
    """One training step of a small CNN (28x28, batch 32, 1 intra-op thread); returns the loss tensor."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    torch.set_num_threads(1)  # the machine is shared; one intra-op thread keeps the step time steady
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
    )
    x, y = torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def _child_startup(key: str, logdir: str) -> dict:
    """Import torch (every training script does), then time import + construct + start + first epoch window."""
    import psutil
    import torch  # noqa: F401

    rss0 = psutil.Process().memory_info().rss
    t0 = time.perf_counter()
    v = VARIANTS[key]()
    writer = v.open(logdir)
    v.begin()
    v.epoch_start()
    writer.add_scalar("loss", 0.5, 0)
    v.epoch_end()
    t1 = time.perf_counter()
    rss1 = psutil.Process().memory_info().rss
    v.end()
    v.close()
    return {"startup_s": t1 - t0, "rss_delta": rss1 - rss0}


def _child_train(key: str, logdir: str, epochs: int, steps: int) -> dict:
    """The user's loop: per step (wall and all threads' CPU) between the tracker's start and stop, and those two."""
    step = make_step()
    for _ in range(20):  # warm up kernels and allocator
        step()
    v = VARIANTS[key]()
    writer = v.open(logdir)
    gstep = 0
    t0 = time.perf_counter()
    v.begin()
    c1, t1 = time.process_time(), time.perf_counter()
    for _ in range(epochs):
        v.epoch_start()
        for _ in range(steps):
            writer.add_scalar("loss", step().item(), gstep)
            v.step()
            gstep += 1
        v.epoch_end()
    c2, t2 = time.process_time(), time.perf_counter()
    kwh = v.end()
    t3 = time.perf_counter()
    v.close()
    return {"step_s": (t2 - t1) / gstep, "cpu_step_s": (c2 - c1) / gstep, "begin_end_s": (t1 - t0) + (t3 - t2),
            "energy_kwh": kwh}


def _child_idle(key: str, logdir: str, seconds: float) -> dict:
    """Training idles for ``seconds`` inside an epoch: CPU time the process spends meanwhile (all threads)."""
    import torch  # noqa: F401

    v = VARIANTS[key]()
    v.open(logdir)
    v.begin()
    v.epoch_start()
    time.sleep(0.5)  # let start-up work (first samples, scheduler threads) settle
    c0, w0 = time.process_time(), time.perf_counter()
    time.sleep(seconds)
    w1, c1 = time.perf_counter(), time.process_time()
    v.epoch_end()
    v.end()
    v.close()
    return {"cpu_s": c1 - c0, "wall_s_idle": w1 - w0}


def main(argv: list[str]) -> int:
    if len(argv) != 5 or argv[0] not in VARIANTS:
        sys.stderr.write(__doc__ or "")
        return 2
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import emit

    _quiet()
    key, logdir = argv[0], argv[1]
    out = {"pid": os.getpid(), **_child_startup(key, os.path.join(logdir, "startup"))}
    out.update(_child_train(key, os.path.join(logdir, "train"), int(argv[2]), int(argv[3])))
    if float(argv[4]) > 0:
        out.update(_child_idle(key, os.path.join(logdir, "idle"), float(argv[4])))
    emit(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
