"""CUDA_VISIBLE_DEVICES (index, GPU-UUID, MIG-UUID forms) and gpus= mapped to NVML handles."""
from __future__ import annotations

import sys

import pytest

from fakes.fake_nvml import FakeGpu, make_fake_nvml
from greenops_tb.meters.nvml import nvml_sources
from greenops_tb.meters.visible_devices import Selector, parse_cuda_visible_devices, parse_gpus, visible_gpus

UUIDS = [
    "GPU-0a1b2c3d-0000-0000-0000-000000000000",
    "GPU-5e6f7a8b-1111-1111-1111-111111111111",
    "GPU-9c8d7e6f-2222-2222-2222-222222222222",
]
MIG = ("MIG-4f4f4f4f-aaaa-aaaa-aaaa-aaaaaaaaaaaa", "MIG-7e7e7e7e-bbbb-bbbb-bbbb-bbbbbbbbbbbb")


@pytest.fixture
def nvml(monkeypatch: pytest.MonkeyPatch):
    gpus = [FakeGpu(UUIDS[0], name="GPU zero"), FakeGpu(UUIDS[1], name="GPU one"), FakeGpu(UUIDS[2], mig_uuids=MIG)]
    mod = make_fake_nvml(gpus)
    monkeypatch.setitem(sys.modules, "pynvml", mod)
    mod.nvmlInit()
    yield mod
    mod.nvmlShutdown()


def _map(nvml, cvd: str | None, gpus=None) -> list[tuple[int, int]]:
    env = {} if cvd is None else {"CUDA_VISIBLE_DEVICES": cvd}
    return [(g.cuda_index, g.nvml_index) for g in visible_gpus(nvml, env, gpus)]


def test_parse_follows_cuda_rules() -> None:
    assert parse_cuda_visible_devices(None) is None
    assert parse_cuda_visible_devices("") == []
    assert parse_cuda_visible_devices(" 1, 0 ") == [Selector("index", "1"), Selector("index", "0")]
    assert parse_cuda_visible_devices("0,-1,1") == [Selector("index", "0")], "CUDA stops at an invalid entry"
    assert parse_cuda_visible_devices("1,1") == [Selector("index", "1")], "and at a repeated one"
    assert parse_cuda_visible_devices("gpu-5e6f,MIG-4f4f") == [Selector("gpu-uuid", "GPU-5e6f"), Selector("mig-uuid", "MIG-4f4f")]


def test_indices_reorder_and_hide(nvml) -> None:
    assert _map(nvml, None) == [(0, 0), (1, 1), (2, 2)]
    assert _map(nvml, "2,0") == [(0, 2), (1, 0)]
    assert _map(nvml, "") == []
    assert _map(nvml, "1,7,0") == [(0, 1)], "an index with no GPU ends the list, like CUDA"


def test_uuid_prefixes_and_mig_instances(nvml) -> None:
    assert _map(nvml, "GPU-9c8d,GPU-0a1b2c3d-0000-0000-0000-000000000000") == [(0, 2), (1, 0)]
    (mig,) = visible_gpus(nvml, {"CUDA_VISIBLE_DEVICES": MIG[1][:12]})
    assert (mig.nvml_index, mig.uuid, mig.mig_uuid) == (2, UUIDS[2], MIG[1])
    assert "whole GPU" in mig.name
    (old,) = visible_gpus(nvml, {"CUDA_VISIBLE_DEVICES": f"MIG-{UUIDS[2]}/1/0"})
    assert old.nvml_index == 2 and old.handle == nvml.nvmlDeviceGetHandleByIndex(2)


def test_gpus_option_picks_among_visible(nvml) -> None:
    assert _map(nvml, "2,0", gpus=[1]) == [(1, 0)]
    assert _map(nvml, "2,0", gpus="GPU-9c8d") == [(0, 2)]
    assert _map(nvml, None, gpus="all") == [(0, 0), (1, 1), (2, 2)]
    assert _map(nvml, None, gpus="none") == []
    with pytest.raises(ValueError, match="cuda:2 but this process sees 2 GPU"):
        _map(nvml, "2,0", gpus=[2])
    with pytest.raises(ValueError, match="not a unique visible GPU"):
        _map(nvml, "2,0", gpus=["GPU-5e6f"])


@pytest.mark.parametrize("bad", [True, -1, 1.5, "cuda:0", ["x"]])
def test_bad_gpus_option_says_what_to_use(bad) -> None:
    with pytest.raises(ValueError, match="GPU|index"):
        parse_gpus(bad)


def test_sources_follow_the_mapping_and_measure_a_shared_mig_parent_once(nvml) -> None:
    env = {"CUDA_VISIBLE_DEVICES": f"1,{MIG[0]},{MIG[1]}"}
    sources = nvml_sources(env=env)
    try:
        assert [s.devices[0].id for s in sources] == ["gpu:0", "gpu:1"]
        assert [s.devices[0].name for s in sources][0] == "GPU one"
        assert sources[1].provenance() == ["nvml-energy [MIG: whole GPU]"]
    finally:
        for s in sources:
            s.close()
    assert nvml.init_count == 1, "only the fixture's own nvmlInit remains"
