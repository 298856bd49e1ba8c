"""Build greenops_tb/meters/data/{cpu_tdp,gpu_tdp}.csv from the raw sources in data/sources.

Inputs (see data/sources/README.md for provenance and licences):
  codecarbon_cpu_power.csv       (MIT, mlco2/codecarbon)  Name,TDP
  gpu_tdp_epoch_ml_hardware.csv  (CC BY 4.0, Epoch AI)    hardware_name,...,type,...,tdp_w

Outputs: ``key,tdp_w`` with ``key = normalise_model(name)``, sorted, one row per
key (the first TDP seen wins on duplicates), so the runtime does no parsing
beyond reading two columns.

Usage: python scripts/build_hardware_tables.py [--src data/sources] [--out greenops_tb/meters/data]
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the normaliser of this checkout, not of an installed greenops_tb

from greenops_tb.meters.cpu_info import normalise_model  # noqa: E402

OUT = ROOT / "greenops_tb" / "meters" / "data"
GPU_TYPES = {"GPU", "GPGPU", "TPU", "XPU", "NPU", "DCU (GPGPU)"}


def _write(path: Path, rows: dict[str, float]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["key", "tdp_w"])
        for key in sorted(rows):
            w.writerow([key, f"{rows[key]:g}"])
    print(f"wrote {path}: {len(rows)} rows")


def _table(path: Path, name_col: str, tdp_col: str, keep=lambda row: True) -> dict[str, float]:
    """Normalised name -> TDP; rows with an unparseable TDP are reported and skipped."""
    out: dict[str, float] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            key, tdp = normalise_model(row[name_col]), row[tdp_col].strip()
            if not (key and tdp and keep(row)):
                continue
            try:
                out.setdefault(key, float(tdp))
            except ValueError:
                print(f"skipped {path.name}: {row[name_col]!r} has TDP {tdp!r}")
    return out


def build(src: Path, out: Path = OUT) -> None:
    cpu = _table(src / "codecarbon_cpu_power.csv", "Name", "TDP")
    gpu = _table(src / "gpu_tdp_epoch_ml_hardware.csv", "hardware_name", "tdp_w", lambda r: r["type"] in GPU_TYPES)
    out.mkdir(parents=True, exist_ok=True)
    _write(out / "cpu_tdp.csv", cpu)
    _write(out / "gpu_tdp.csv", gpu)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=ROOT / "data" / "sources", help="raw data (default: data/sources)")
    ap.add_argument("--out", type=Path, default=OUT, help="output folder (default: greenops_tb/meters/data)")
    args = ap.parse_args(argv)
    build(args.src, args.out)


if __name__ == "__main__":
    main()
