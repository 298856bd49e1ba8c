"""Adapters giving every tool the same benchmark interface.

Tools: ``none`` (no tracking), ``tensorboard`` (plain ``SummaryWriter``),
``greenops`` (our ``GreenSummaryWriter``), ``codecarbon``
(``OfflineEmissionsTracker`` tasks), ``zeus`` (``ZeusMonitor`` windows) and
``carbontracker`` (epochs). Each adapter imports its tool in :meth:`Tool.open`,
so the module itself is cheap to import and start-up can be timed in a fresh
process.

"With logging" means the numbers reach TensorBoard: our writer does it itself
(one event + one CSV row per record); a peer's user adds the energy and CO2 the
peer returns with two plain ``add_scalar`` calls. Carbontracker returns no
per-epoch values; it writes its own text log, so its window is the same in both.

Run as a script, this module is the child process of the start-up, memory and
background-CPU measurements::

    python benchmarks/peers.py startup TOOL LOGDIR
    python benchmarks/peers.py idle TOOL LOGDIR SECONDS
    python benchmarks/peers.py serve TOOL LOGDIR     # stdin "N" -> seconds per window_logged over N calls

``serve`` keeps a tool in a process of its own so it can be timed interleaved with
in-process variants: stock TensorBoard measured in a process that never loads
greenops_tb (or the peers), so nothing we load can change the baseline.
"""
from __future__ import annotations

import importlib.util
import logging
import sys
import time
import warnings
from pathlib import Path

from greenops_tb.units import kwh

log = logging.getLogger(__name__)

#: where an Intel/AMD RAPL counter would be; none here means CPU energy is estimated or absent
RAPL_ROOT = Path("/sys/class/powercap/intel-rapl:0")
STAGE = "bench"
LOOP_STAGE = "loop"  # kept open for loop-style update()


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


class Tool:
    """One tool under test. Subclasses import their tool in :meth:`open`."""

    key = ""
    label = ""
    module = ""  # the tool's module; its package must be installed
    measures = True  # False for the baselines
    logs_to_tensorboard = False

    def __init__(self) -> None:
        self.writer = None  # a plain SummaryWriter for peers' "with logging" variants

    # -- availability ---------------------------------------------------------------
    def unavailable(self) -> str | None:
        """Why this tool cannot run here, or None."""
        top = self.module.split(".")[0]
        if top and importlib.util.find_spec(top) is None:  # found, not imported: start-up is timed in children
            return f"{top} is not installed (pip install -r benchmarks/requirements.txt)"
        return None

    def coverage(self) -> str:
        """What it can measure on this machine."""
        return ""

    # -- life cycle -------------------------------------------------------------------
    def open(self, logdir: str) -> None:
        """Import, construct and start the tool."""

    def window(self) -> None:
        """One stage window (start + stop), measurement only."""

    def window_logged(self) -> None:
        """One stage window whose numbers reach TensorBoard."""
        self.window()

    def update(self) -> None:
        """Loop style: close this step's interval and open the next, measurement only."""
        self.window()

    def update_logged(self) -> None:
        self.window_logged()

    def begin_idle(self) -> None:
        """Open a window that stays open while training idles."""

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    # -- helpers -------------------------------------------------------------------------
    def _open_writer(self, logdir: str) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(logdir)
        self._step = 0

    def _log_two(self, energy: float, co2: float) -> None:
        self._step += 1
        self.writer.add_scalar("peer/energy_kwh", energy, self._step)
        self.writer.add_scalar("peer/co2_kg", co2, self._step)


class NoTracking(Tool):
    key, label, measures = "none", "no tracking", False


class PlainTensorBoard(Tool):
    """Baseline for logging: one plain ``add_scalar`` per window."""

    key, label, measures, logs_to_tensorboard = "tensorboard", "plain SummaryWriter", False, True

    def open(self, logdir: str) -> None:
        self._open_writer(logdir)

    def window(self) -> None:
        """Nothing to measure: plain TensorBoard has no stages."""

    def window_logged(self) -> None:
        self._step += 1
        self.writer.add_scalar("loss", 0.5, self._step)


class GreenOps(Tool):
    """Our ``GreenSummaryWriter``; its own events and CSV are the logging."""

    key, label, module, logs_to_tensorboard = "greenops", "greenops_tb GreenSummaryWriter", "greenops_tb.writer", True

    def __init__(self, **options) -> None:
        super().__init__()
        self.options = {"country": "DE", **options}
        self.quiet = None  # measurement-only twin (open_quiet): no CSV, no update() events
        self.accounting = None  # its stage accounting with no sink, for window()

    def coverage(self) -> str:
        return hardware() + ("" if has_rapl() else " (cpu/ram: model-tdp)")

    def open(self, logdir: str) -> None:
        from greenops_tb import GreenSummaryWriter

        self.writer = GreenSummaryWriter(logdir, **self.options)
        self.writer.start(LOOP_STAGE)

    def open_quiet(self, logdir: str) -> None:
        """A second writer that measures but writes no CSV and no update() events."""
        from greenops_tb import GreenSummaryWriter

        from greenops_tb.stages import Stages

        q = self.quiet = GreenSummaryWriter(logdir, **{**self.options, **QUIET_OPTIONS})
        q.start(LOOP_STAGE)
        # the writer's own meter, grid and pricing, with records going nowhere (stop() always emits an event)
        self.accounting = Stages(q._meter, q._grid.current, q._pricing, q._watches, lambda rec, closing: None)

    def window(self) -> None:
        """Measurement only: the writer's stage accounting (meter reads + record), no sink behind it."""
        if self.accounting is None:
            raise RuntimeError("call open_quiet(logdir) before measuring windows without logging")
        self.accounting.start(STAGE)
        self.accounting.stop(STAGE)

    def window_logged(self) -> None:
        self.writer.start(STAGE)
        self.writer.stop(STAGE)

    def update(self) -> None:
        (self.quiet or self.writer).update(LOOP_STAGE)

    def update_logged(self) -> None:
        self.writer.update(LOOP_STAGE)

    def begin_idle(self) -> None:
        self.writer.start(STAGE)

    def close(self) -> None:
        if self.quiet is not None:
            self.quiet.close()
        super().close()


#: GreenSummaryWriter options for "measurement only": no CSV file, update() records not sent to the events
QUIET_OPTIONS: dict = {"csv_path": False, "emit_every": 10**9}


class CodeCarbon(Tool):
    """``OfflineEmissionsTracker`` with one task per window (country DEU, nothing saved)."""

    key, label, module = "codecarbon", "CodeCarbon OfflineEmissionsTracker (tasks)", "codecarbon"

    def coverage(self) -> str:
        return hardware() + ("" if has_rapl() else " (cpu: TDP model)")

    def open(self, logdir: str) -> None:
        _quiet()
        from codecarbon import OfflineEmissionsTracker

        Path(logdir).mkdir(parents=True, exist_ok=True)  # CodeCarbon refuses a missing output_dir
        self.tracker = OfflineEmissionsTracker(
            country_iso_code="DEU", save_to_file=False, output_dir=logdir, log_level="error"
        )
        self.tracker.start()
        self._n = 0
        self._open_writer(logdir)

    def _task(self):
        self._n += 1
        self.tracker.start_task(f"w{self._n}")
        return self.tracker.stop_task()

    def window(self) -> None:
        self._task()

    def window_logged(self) -> None:
        d = self._task()
        self._log_two(d.energy_consumed, d.emissions)

    def begin_idle(self) -> None:
        self.tracker.start_task("idle")

    def close(self) -> None:
        self.tracker.stop()
        super().close()


class Zeus(Tool):
    """``ZeusMonitor`` windows on every GPU and CPU it finds."""

    key, label, module = "zeus", "Zeus ZeusMonitor (windows)", "zeus.monitor"

    def coverage(self) -> str:
        return hardware() + ("" if has_gpu() or has_rapl() else ": measures time only, energy empty")

    def open(self, logdir: str) -> None:
        _quiet()
        from zeus.monitor import ZeusMonitor

        self.monitor = ZeusMonitor()
        self._open_writer(logdir)

    def _measure(self):
        self.monitor.begin_window(STAGE, sync_execution=False)
        return self.monitor.end_window(STAGE, sync_execution=False)

    def window(self) -> None:
        self._measure()

    def window_logged(self) -> None:
        m = self._measure()
        joules = m.total_energy
        self._log_two(kwh(joules), 0.0)  # Zeus reports no CO2

    def begin_idle(self) -> None:
        self.monitor.begin_window("idle", sync_execution=False)


class CarbonTracker(Tool):
    """carbontracker epochs (it logs to its own file each epoch; no values returned)."""

    key, label, module = "carbontracker", "carbontracker (epochs)", "carbontracker.tracker"

    def coverage(self) -> str:
        return hardware() + ("" if has_rapl() else " (cpu: TDP model)") + \
            "; tries an IP geolocation lookup (fails offline: world average)"

    def open(self, logdir: str) -> None:
        _quiet()
        from carbontracker.tracker import CarbonTracker as CT

        self.tracker = CT(epochs=10**9, epochs_before_pred=0, log_dir=logdir, verbose=0, update_interval=1)

    def window(self) -> None:
        self.tracker.epoch_start()
        self.tracker.epoch_end()

    def begin_idle(self) -> None:
        self.tracker.epoch_start()

    def close(self) -> None:
        self.tracker.stop()
        super().close()


TOOLS: dict[str, type[Tool]] = {
    t.key: t for t in (NoTracking, PlainTensorBoard, GreenOps, CodeCarbon, Zeus, CarbonTracker)
}
PEERS = ("codecarbon", "zeus", "carbontracker")


# -- child processes ------------------------------------------------------------------------
def _child_startup(key: str, logdir: str) -> dict:
    """Import torch (every training script does), then time import + construct + first window."""
    import psutil
    import torch  # noqa: F401

    rss0 = psutil.Process().memory_info().rss
    t0 = time.perf_counter()
    tool = TOOLS[key]()
    tool.open(logdir)
    tool.window_logged()
    t1 = time.perf_counter()
    rss1 = psutil.Process().memory_info().rss
    tool.close()
    return {"startup_s": t1 - t0, "rss_delta": rss1 - rss0, "threads": _thread_count()}


def _thread_count() -> int:
    import threading

    return threading.active_count()


def _child_idle(key: str, logdir: str, seconds: float) -> dict:
    """Training idles for ``seconds`` with a window open: CPU time the tool spends meanwhile."""
    import torch  # noqa: F401

    tool = TOOLS[key]()
    tool.open(logdir)
    tool.begin_idle()
    time.sleep(0.5)  # let start-up work (first samples, scheduler threads) settle
    c0 = time.process_time()  # every thread of the process, ns resolution
    w0 = time.perf_counter()
    time.sleep(seconds)
    w1 = time.perf_counter()
    c1 = time.process_time()
    tool.close()
    return {"cpu_s": c1 - c0, "wall_s_idle": w1 - w0}


def _child_serve(key: str, logdir: str) -> None:
    import torch  # noqa: F401

    tool = TOOLS[key]()
    tool.open(logdir)
    tool.window_logged()
    from common import emit, per_call

    emit({"ready": True})
    for line in sys.stdin:
        emit({"per_call_s": per_call(tool.window_logged, int(line))})
    tool.close()


class Served:
    """A tool in its own ``serve`` child: :meth:`per_call` times ``n`` logged windows there."""

    def __init__(self, key: str, logdir: str) -> None:
        from common import start_child

        self.proc = start_child([__file__, "serve", key, logdir], stdin=True)
        self._reply()

    def _reply(self) -> dict:
        import json

        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"serve child failed: {self.proc.stderr.read()[-2000:]}")
        return json.loads(line)

    def per_call(self, n: int) -> float:
        self.proc.stdin.write(f"{n}\n")
        self.proc.stdin.flush()
        return self._reply()["per_call_s"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] not in ("startup", "idle", "serve") or argv[1] not in TOOLS:
        sys.stderr.write(__doc__ or "")
        return 2
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import emit

    if argv[0] == "startup":
        emit(_child_startup(argv[1], argv[2]))
    elif argv[0] == "serve":
        _child_serve(argv[1], argv[2])
    else:
        emit(_child_idle(argv[1], argv[2], float(argv[3])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
