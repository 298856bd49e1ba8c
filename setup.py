"""Install greenops_tb. The Green tab's frontend is built by the plugin's build step (see BUILD below)."""
from setuptools import find_packages, setup

setup(
    name="greenops_tb",
    version="0.1.0",
    description="Energy, CO2, cost and grid source mix of PyTorch training, in TensorBoard and a crash-safe CSV",
    long_description=open("README.md", encoding="utf-8").read() if __import__("os").path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["greenops_tb", "greenops_tb.*"]),
    include_package_data=True,
    package_data={"greenops_tb": ["grid/data/*", "plugin/static/*"]},
    install_requires=[
        "torch>=2.1",
        "tensorboard>=2.21",
        "protobuf",
        "nvidia-ml-py",
        "psutil",
        "werkzeug",
        "numpy",
    ],
    extras_require={
        "pandas": ["pandas"],
        "test": ["pytest", "pandas", "playwright"],
    },
    entry_points={
        "console_scripts": ["greenops-tb = greenops_tb.cli:main"],
        "tensorboard_plugins": ["green = greenops_tb.plugin.loader:GreenLoader"],
    },
)
