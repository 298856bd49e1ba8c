"""A wheel built from this tree, installed into a fresh virtualenv: the package as ``pip install .`` gives it.

The venv reuses the torch/tensorboard installed where the tests run: a ``.pth`` file lists this interpreter's
site-packages (a venv's own, where the tests run from a venv, which ``--system-site-packages`` would miss: it
names the base interpreter's). A path in a ``.pth`` file is appended after the venv's own site-packages and its
own ``.pth`` files are not run, so the editable greenops_tb of the test environment never loads; the tests check
that the wheel runs through ``greenops_tb.__file__``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def user_env(**extra: str) -> dict[str, str]:
    """The user's environment without this checkout on the path (the installed wheel must be what runs)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "PYTHONNOUSERSITE": "1", **extra}


def run(args: list[str], cwd: Path, timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(args, cwd=cwd, env=env or user_env(), capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{args} exited {out.returncode}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


def source_copy(dest: Path) -> Path:
    """This tree's files as a fresh checkout has them (tracked and new, not ignored: no bundle, no node_modules)."""
    names = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT).stdout.split("\0")
    for name in filter(None, names):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def build_wheel(src: Path, out: Path, **env: str) -> Path:
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(src)],
        cwd=out.parent, timeout=600, env=user_env(**env))
    return next(out.glob("greenops_tb-*.whl"))


def site_dirs() -> list[str]:
    """The site-packages directories of the interpreter running the tests (venv or not)."""
    return [p for p in sys.path if p.endswith(("site-packages", "dist-packages")) and Path(p).is_dir()]


def venv_with(wheel: Path, dest: Path) -> Path:
    """A fresh venv at ``dest`` with ``wheel`` installed (dependencies from the tests' site-packages); its bin/."""
    run([sys.executable, "-m", "venv", str(dest)], cwd=dest.parent)
    bin_ = dest / "bin"
    purelib = run([str(bin_ / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                  cwd=dest.parent).stdout.strip()
    (Path(purelib) / "_greenops_test_deps.pth").write_text("\n".join(site_dirs()) + "\n", encoding="utf-8")
    run([str(bin_ / "python"), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)], cwd=dest.parent)
    return bin_
