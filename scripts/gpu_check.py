"""Check greenops_tb's GPU energy against NVML read independently, on a machine with an NVIDIA GPU.

For each path (the energy counter, ``nvml-energy``; sampled power,
``nvml-power-sampled``) it runs a real matmul workload on cuda:0 inside one
writer stage of ``--window`` seconds (>= 10) and compares the writer's gpu:0
energy with

* NVML's energy counter read by this script around the same window (truth), and
* power sampled by this script's own thread every 20 ms, integrated with numpy.

Targets: counter path within 1% of the counter, sampled path within 5%.
Also reports a 20 ms window (never zero, labelled) and the cost of the CUDA
synchronisation at stage boundaries (``sync_cuda``, on by default).

    scripts/gpu_check.sh [--window 12]     # exit 0 pass, 1 fail, 2 no GPU here
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import warnings

EXIT_PASS, EXIT_FAIL, EXIT_NO_GPU = 0, 1, 2


def no_gpu_reason() -> str | None:
    """Why this machine cannot run the check, or None."""
    try:
        import pynvml
    except ImportError:
        return "nvidia-ml-py is not installed (pip install nvidia-ml-py)"
    try:
        pynvml.nvmlInit()
    except Exception as err:  # noqa: BLE001
        return f"NVML is unavailable ({err}): no NVIDIA driver or GPU on this machine"
    count = pynvml.nvmlDeviceGetCount()
    pynvml.nvmlShutdown()
    if count == 0:
        return "NVML reports no GPU"
    import torch

    if not torch.cuda.is_available():
        return f"torch {torch.__version__} has no CUDA (install a CUDA build of torch)"
    return None


class PowerLog(threading.Thread):
    """Independent power sampling of one GPU (its own thread and integration)."""

    def __init__(self, nvml, handle, period: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.nvml, self.handle, self.period = nvml, handle, period
        self.t: list[float] = []
        self.w: list[float] = []
        self._stop_evt = threading.Event()

    def run(self) -> None:
        while not self._stop_evt.is_set():
            self.t.append(time.perf_counter())
            self.w.append(self.nvml.nvmlDeviceGetPowerUsage(self.handle) / 1000.0)
            time.sleep(self.period)

    def joules(self, t0: float, t1: float) -> float:
        import numpy as np

        t, w = np.array(self.t), np.array(self.w)
        inside = (t > t0) & (t < t1)
        ts = np.concatenate([[t0], t[inside], [t1]])
        ws = np.concatenate([[np.interp(t0, t, w)], w[inside], [np.interp(t1, t, w)]])
        return float(np.trapezoid(ws, ts) if hasattr(np, "trapezoid") else np.trapz(ws, ts))

    def stop(self) -> None:
        self._stop_evt.set()
        self.join(2)


def workload(seconds: float) -> None:
    import torch

    a = torch.randn(8192, 8192, device="cuda", dtype=torch.float16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.float16)
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(8):
            a = (a @ b).clamp_(-1, 1)
        torch.cuda.synchronize()


def one_path(mode: str, window: float, nvml, handle, plog: PowerLog) -> dict:
    import torch

    from greenops_tb import GreenSummaryWriter
    from greenops_tb.meters.model import ModelCpuSource
    from greenops_tb.meters.nvml import nvml_sources
    from greenops_tb.format.units import J_PER_KWH

    sources = nvml_sources(gpus=[0], mode=mode)
    if not sources:
        return {"mode": mode, "error": "no NVML source for cuda:0"}
    with tempfile.TemporaryDirectory() as d, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = GreenSummaryWriter(d, country="DE", meters=[*sources, ModelCpuSource()], csv_path=False)
        try:
            torch.cuda.synchronize()
            mj0, t0 = nvml.nvmlDeviceGetTotalEnergyConsumption(handle), time.perf_counter()
            w.start("check")
            workload(window)
            rec = w.stop("check")
            t1, mj1 = time.perf_counter(), nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
            w.start("short")
            time.sleep(0.02)
            short = w.stop("short")
        finally:
            w.close()
    got = rec.devices["gpu:0"].energy_kwh * J_PER_KWH
    counter = (mj1 - mj0) / 1000.0
    sampled = plog.joules(t0, t1)
    return {
        "mode": mode, "provenance": rec.devices["gpu:0"].provenance, "window_s": rec.duration_s,
        "writer_j": got, "counter_j": counter, "sampled_j": sampled, "avg_power_w": counter / (t1 - t0),
        "ratio_vs_counter": got / counter, "ratio_vs_sampled": got / sampled,
        "short_window_j": short.devices["gpu:0"].energy_kwh * J_PER_KWH,
        "short_window_provenance": short.devices["gpu:0"].provenance,
    }


def sync_cost_us() -> dict:
    """Median cost of one stage enter+exit with and without CUDA synchronisation (GPU idle)."""
    from greenops_tb import GreenSummaryWriter

    out = {}
    for sync in (False, True):
        with tempfile.TemporaryDirectory() as d, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with GreenSummaryWriter(d, country="DE", csv_path=False, sync_cuda=sync) as w:
                samples = []
                for _ in range(300):
                    t = time.perf_counter_ns()
                    w.start("s")
                    w.stop("s")
                    samples.append((time.perf_counter_ns() - t) / 1000)
        out["sync_on_us" if sync else "sync_off_us"] = statistics.median(samples)
    return out


def verdict(path: dict) -> tuple[bool, float]:
    """(passed, target) for one path's result: the counter path within 1% of NVML's counter, the sampled path
    within 5%, and a 20 ms window never zero."""
    target = 0.01 if path["provenance"].startswith("nvml-energy") else 0.05
    return abs(path["ratio_vs_counter"] - 1) <= target and path["short_window_j"] > 0, target


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--window", type=float, default=12.0, help="seconds per measured window (>= 10)")
    ap.add_argument("--json", metavar="PATH", help="also write the results here")
    args = ap.parse_args(argv)
    if args.window < 10:
        ap.error("--window must be >= 10 seconds (the targets are for windows of 10 s or more)")
    reason = no_gpu_reason()
    if reason:
        print(f"gpu_check: cannot run here: {reason}. Run it on a machine with an NVIDIA GPU; nothing was checked.")
        return EXIT_NO_GPU
    import pynvml
    import torch

    from greenops_tb.meters.visible_devices import visible_gpus

    pynvml.nvmlInit()
    handle = visible_gpus(pynvml, os.environ)[0].handle
    plog = PowerLog(pynvml, handle)
    plog.start()
    torch.cuda.init()
    workload(2.0)  # warm up clocks and kernels
    results = {"gpu": torch.cuda.get_device_name(0), "driver": str(pynvml.nvmlSystemGetDriverVersion()),
               "paths": [one_path(m, args.window, pynvml, handle, plog) for m in ("auto", "power")],
               **sync_cost_us()}
    plog.stop()
    pynvml.nvmlShutdown()
    ok = True
    print(f"GPU {results['gpu']} (driver {results['driver']}), windows of {args.window:g} s")
    for r in results["paths"]:
        if "error" in r:
            print(f"  {r['mode']}: {r['error']}")
            ok = False
            continue
        passed, target = verdict(r)
        ok &= passed
        print(f"  {r['provenance']}: writer {r['writer_j']:.1f} J, counter {r['counter_j']:.1f} J "
              f"(ratio {r['ratio_vs_counter']:.4f}), independently sampled {r['sampled_j']:.1f} J "
              f"(ratio {r['ratio_vs_sampled']:.4f}), {r['avg_power_w']:.0f} W; 20 ms window "
              f"{r['short_window_j']:.3f} J [{r['short_window_provenance']}] -> "
              f"{'PASS' if passed else 'FAIL'} (target within {target:.0%})")
    print(f"  stage enter+exit: {results['sync_off_us']:.1f} us without CUDA sync, "
          f"{results['sync_on_us']:.1f} us with (GPU idle)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    print("gpu_check:", "PASS" if ok else "FAIL")
    return EXIT_PASS if ok else EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
