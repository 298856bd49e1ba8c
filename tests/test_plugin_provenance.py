"""The Green tab names every vendor's and sensor family's provenance: runs measured through the stand-ins,
read back through TensorBoard's own WSGI app and data provider."""
from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

from fakes.fake_amdsmi import FakeAmdGpu, make_fake_amdsmi
from fakes.fake_apple import FakeSoc, make_fake_apple
from fakes.fake_nvml import constant
from fakes.hwmon import grace_hopper
from greenops_tb.writer import GreenSummaryWriter
from test_plugin_routes import client, get


def _run(logdir: Path, name: str, **kw: object) -> dict[str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = GreenSummaryWriter(str(logdir / name), country="DE", sample_interval=0.05, **kw)
    w.start("train")
    time.sleep(0.3)
    w.update("train")
    time.sleep(0.2)
    w.stop("train")
    prov = dict(zip((d.id for d in w.meter.devices), w.meter.provenance()))
    w.close()
    return prov


def test_provenance_table_names_amd_hwmon_process_share_and_apple(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("GREENOPS_HWMON_ROOT", raising=False)
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.setitem(sys.modules, "zeus_apple_silicon", None)
    parts = [FakeAmdGpu(0xC0, partition_id=p, partition_mode="CPX", profile=constant(600.0)) for p in range(2)]
    monkeypatch.setitem(sys.modules, "amdsmi", make_fake_amdsmi(parts))
    grace_hopper(tmp_path / "sys" / "hwmon")
    logdir = tmp_path / "logs"
    amd = _run(logdir, "amd-grace", sysfs_root=str(tmp_path / "sys" / "powercap"), cpu_attribution="process")
    assert amd == {"gpu:0": "amdsmi-energy [partition: whole socket]",
                   "cpu:0": "hwmon-power-sampled x process-share", "ram": "model-rss"}
    monkeypatch.setitem(sys.modules, "zeus_apple_silicon", make_fake_apple(FakeSoc()))
    apple = _run(logdir, "mac", sysfs_root=str(tmp_path / "none"))
    c = client(logdir)
    for run, want in (("amd-grace", amd), ("mac", apple)):
        s = get(c, f"/summary?run={run}")
        assert {d["device"]: d["provenance"] for d in s["devices"]} == want, run
        measured = {d["device"]: d["measured"] for d in s["devices"]}
        assert measured == {k: not v.startswith("model") for k, v in want.items()}, "measured vs modelled column"
    assert set(apple.values()) == {"apple-ioreport"} and set(apple) == {"cpu:0", "gpu:0", "gpu:ane", "ram"}
