"""scripts/gpu_check.sh: on a GPU machine it must pass; elsewhere it must say why it checked nothing."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import gpu_check  # noqa: E402


def test_gpu_check_script() -> None:
    reason = gpu_check.no_gpu_reason()
    proc = subprocess.run(["bash", str(REPO / "scripts" / "gpu_check.sh"), "--window", "10"],
                          capture_output=True, text=True, timeout=600, cwd=str(REPO))
    if reason is None:  # a real GPU: the measured energy must meet the targets
        assert proc.returncode == gpu_check.EXIT_PASS, proc.stdout + proc.stderr
        assert proc.stdout.count("PASS") >= 3
    else:
        assert proc.returncode == gpu_check.EXIT_NO_GPU, proc.stdout + proc.stderr
        assert "cannot run here" in proc.stdout and "nothing was checked" in proc.stdout
