"""Install greenops_tb. The Green tab's frontend is built by the plugin's build step (see BUILD below)."""
import os
import shutil
import subprocess
from pathlib import Path

from setuptools import find_packages, setup
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
        sources = [*FRONTEND.glob("src/**/*.ts"), *(FRONTEND / n for n in ("package.json", "package-lock.json", "build.mjs"))]
        if bundle.is_file() and bundle.stat().st_mtime >= _newest_mtime(sources):
            return  # up to date
        npm = shutil.which("npm")
        if npm is None or shutil.which("node") is None:
            if os.environ.get("GREENOPS_SKIP_FRONTEND") == "1":
                self.warn("GREENOPS_SKIP_FRONTEND=1: installing without the Green tab's dashboard bundle")
                return
            raise SystemExit(
                "greenops_tb: building the Green tab needs Node.js >= 20 and npm on PATH (install them, e.g. "
                "`apt-get install nodejs npm`), then retry; or set GREENOPS_SKIP_FRONTEND=1 to install without the "
                "dashboard (TensorBoard's Green tab will then be empty)."
            )
        marker = FRONTEND / "node_modules" / ".package-lock.json"
        if not marker.is_file() or marker.stat().st_mtime < _newest_mtime([FRONTEND / "package-lock.json"]):
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, check=True)
        subprocess.run([npm, "run", "build"], cwd=FRONTEND, check=True)


setup(
    name="greenops_tb",
    version="0.1.0",
    description="Energy, CO2, cost and grid source mix of PyTorch training, in TensorBoard and a crash-safe CSV",
    long_description=open("README.md", encoding="utf-8").read() if os.path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["greenops_tb", "greenops_tb.*"]),
    include_package_data=True,
    package_data={"greenops_tb": ["grid/data/*", "footprint/data/*", "plugin/static/*"]},
    install_requires=[
        "torch>=2.1",
        "tensorboard>=2.21",
        "protobuf",
        "nvidia-ml-py",
        "psutil",
        "werkzeug",
        "numpy",
        "google-crc32c",
    ],
    extras_require={
        "pandas": ["pandas"],
        "lightning": ["lightning>=2.0"],
        "hf": ["transformers>=4.41", "accelerate>=0.26"],
        # the tests exercise every optional part: pandas helpers, browser (Playwright + Debian chromium), callbacks
        "test": ["pytest", "pandas", "playwright", "lightning>=2.0", "transformers>=4.41", "accelerate>=0.26"],
    },
    cmdclass={"build_py": BuildPyWithFrontend},
    entry_points={
        "console_scripts": ["greenops-tb = greenops_tb.cli:main"],
        "tensorboard_plugins": ["green = greenops_tb.plugin.loader:GreenLoader"],
    },
)
