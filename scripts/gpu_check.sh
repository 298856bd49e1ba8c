#!/usr/bin/env bash
# Compare greenops_tb's per-GPU energy with NVML read independently (needs an NVIDIA GPU; a few minutes).
# Exit 0: pass, 1: fail, 2: no GPU here (nothing checked). Extra arguments go to gpu_check.py (--window, --json).
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python}" scripts/gpu_check.py "$@"
