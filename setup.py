"""The Green tab's frontend build hook for setuptools (everything else is in pyproject.toml; see BUILD below)."""
import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

# BUILD: the Green tab (frontend/, TypeScript) is bundled by `npm ci && npm run build` into
# greenops_tb/plugin/static/ before the package files are copied, so `pip install .`, `pip install -e .`
# and `python -m build` (sdist, then a wheel from it) all ship the bundle. The bundle is never committed.
ROOT = Path(__file__).resolve().parent
FRONTEND = ROOT / "frontend"
STATIC = ROOT / "greenops_tb" / "plugin" / "static"


def _newest_mtime(paths):
    return max((p.stat().st_mtime for p in paths if p.is_file()), default=0.0)


class BuildPyWithFrontend(build_py):
    """build_py that first bundles the Green tab's frontend (needs node >= 20 and npm on PATH)."""

    def run(self):
        self._build_frontend()
        self.__dict__.pop("data_files", None)  # re-scan package data now that the bundle exists
        super().run()

    def _build_frontend(self):
        bundle = STATIC / "index.js"
        if not (FRONTEND / "package.json").is_file():
            return  # building from a tree without the frontend sources: ship what is there
        if os.environ.get("GREENOPS_SKIP_FRONTEND") == "1":
            self.warn("GREENOPS_SKIP_FRONTEND=1: not building the Green tab's dashboard bundle (the tab then says "
                      "how to build it)")
            return
        sources = [*FRONTEND.glob("src/**/*.ts"), *(FRONTEND / n for n in ("package.json", "package-lock.json", "build.mjs"))]
        if bundle.is_file() and bundle.stat().st_mtime >= _newest_mtime(sources):
            return  # up to date
        npm = shutil.which("npm")
        if npm is None or shutil.which("node") is None:
            raise SystemExit(
                "greenops_tb: building the Green tab needs Node.js >= 20 and npm on PATH (install them, e.g. "
                "`apt-get install nodejs npm`), then retry; or set GREENOPS_SKIP_FRONTEND=1 to install without the "
                "dashboard (TensorBoard's Green tab then says how to build it)."
            )
        marker = FRONTEND / "node_modules" / ".package-lock.json"
        if not marker.is_file() or marker.stat().st_mtime < _newest_mtime([FRONTEND / "package-lock.json"]):
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, check=True)
        subprocess.run([npm, "run", "build"], cwd=FRONTEND, check=True)


# Metadata, dependencies, package data and entry points live in pyproject.toml (PEP 621); this file only
# adds the frontend build step to build_py.
setup(cmdclass={"build_py": BuildPyWithFrontend})
