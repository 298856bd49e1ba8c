"""The Green tab's routes, through TensorBoard's own WSGI app and data provider, over logdirs
written by GreenSummaryWriter: totals as written, bad parameters, corrupt and truncated files."""
from __future__ import annotations

import json
import math
import shutil
import sys
from importlib import metadata
from pathlib import Path

import pytest
from tensorboard.backend import application
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.plugins import base_plugin
from torch.utils.tensorboard import SummaryWriter
from werkzeug.test import Client

from greenops_tb.grid import dataset
from greenops_tb.meters.constant import ConstantPowerSource
from greenops_tb.plugin import plugin as green_plugin
from greenops_tb.plugin.loader import GreenLoader
from greenops_tb.readers.csv import read_records
from greenops_tb.readers.events import local_provider
from greenops_tb.format.tags import record_tag
from greenops_tb.format.summary import GREEN_META, string_tensor
from cli_runs import csv_sums
from plugin_fixtures import XSS_RUN, write_run
from training import train

REL = 1e-9
F32 = 1e-6


def client(logdir: Path, **provider_kw: object) -> Client:
    provider = local_provider(str(logdir), **provider_kw)
    plugin = GreenLoader().load(base_plugin.TBContext(data_provider=provider, logdir=str(logdir)))
    assert plugin is not None
    return Client(application.TensorBoardWSGI([plugin], data_provider=provider))


def get(c: Client, path: str, code: int = 200) -> dict:
    r = c.get("/data/plugin/green" + path)
    assert r.status_code == code, (path, r.status_code, r.get_data(as_text=True)[:500])
    assert r.mimetype == "application/json"
    return json.loads(r.get_data(as_text=True))


@pytest.fixture(scope="module")
def logdir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    d = tmp_path_factory.mktemp("logdir")
    totals = {
        "base": write_run(d, "base"),
        "fr": write_run(d, "fr", country="FR", steps=12, watts={"cpu:0": 30.0, "gpu:0": 120.0, "ram": 4.0}),
        XSS_RUN: write_run(d, XSS_RUN, steps=6),
    }
    return d, totals


@pytest.fixture(scope="module")
def c(logdir: tuple[Path, dict]) -> Client:
    return client(logdir[0])


def close(a: float | None, b: float | None, rel: float = REL) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-18)


def test_entry_point_and_listing(c: Client) -> None:
    eps = {ep.name: ep.value for ep in metadata.entry_points(group="tensorboard_plugins")}
    assert eps.get("green") == "greenops_tb.plugin.loader:GreenLoader"
    listing = json.loads(c.get("/data/plugins_listing").get_data(as_text=True))
    assert listing["green"]["enabled"] is True
    assert listing["green"]["tab_name"] == "Green"
    assert listing["green"]["loading_mechanism"] == {"type": "IFRAME", "module_path": "/data/plugin/green/static/index.js"}


def test_runs_lists_green_runs_and_stages(c: Client, logdir: tuple[Path, dict]) -> None:
    runs = {r["run"]: r for r in get(c, "/runs")["runs"]}
    assert set(runs) == set(logdir[1])
    assert runs["base"]["stages"] == ["eval", "train"]
    csv_steps = [r.step for r in read_records(logdir[0] / "base" / "green.csv")]
    assert runs["base"]["max_step"] == max(csv_steps)


@pytest.mark.parametrize("run", ["base", "fr"])
def test_summary_per_stage_equals_the_sum_of_its_csv_rows(c: Client, logdir: tuple[Path, dict], run: str) -> None:
    s = get(c, "/summary?run=" + run)
    assert {st["stage"] for st in s["stages"]} == {"train", "eval"}
    for st in s["stages"]:
        want = csv_sums(logdir[0] / run / "green.csv", st["stage"])
        for key in ("energy_kwh", "co2_kg", "duration_s"):
            assert close(st[key], want[key], 1e-9), (st["stage"], key)


@pytest.mark.parametrize("run", ["base", "fr", XSS_RUN])
def test_summary_equals_writer_totals(c: Client, logdir: tuple[Path, dict], run: str) -> None:
    want = logdir[1][run]
    s = get(c, "/summary?run=" + run.replace("<", "%3C").replace(">", "%3E").replace(" ", "%20"))
    assert s["run"] == run and s["complete"] is True
    t = s["totals"]
    assert close(t["energy_kwh"], want.total.energy_kwh)
    assert close(t["facility_energy_kwh"], want.total.facility_energy_kwh)
    assert close(t["co2_kg"], want.total.co2_kg)
    assert close(t["cost"], want.total.cost)
    assert close(t["duration_s"], want.total.duration_s)
    assert close(t["avg_power_w"], want.total.avg_power_w)
    stages = {st["stage"]: st for st in s["stages"]}
    assert set(stages) == set(want.stages)
    for name, st in want.stages.items():
        got = stages[name]
        for key in ("energy_kwh", "co2_kg", "cost", "duration_s"):
            assert close(got[key], getattr(st, key)), (name, key)
        for src, kwh in st.mix_kwh.items():
            assert close(got["mix_kwh"][src], kwh), (name, src)
    for src, kwh in want.total.mix_kwh.items():
        assert close(s["mix_kwh"][src], kwh), src
    renewable = sum(want.total.mix_kwh.get(k, 0.0) for k in ("hydro", "wind", "solar", "bioenergy", "other_renewable"))
    assert close(t["renewable_share"], renewable / sum(want.total.mix_kwh.values()))
    by_kind: dict[str, float] = {}
    for d in s["devices"]:
        by_kind[d["kind"]] = by_kind.get(d["kind"], 0.0) + d["energy_kwh"]
        assert d["provenance"] == "model-test" and d["measured"] is False
    for kind, kwh in want.total.energy_kwh_by_kind.items():
        assert close(by_kind.get(kind, 0.0), kwh, 1e-6), kind
    assert s["location"]["zone"] == want.location and s["location"]["source"] == want.location_source
    assert s["pue"] == want.pue and s["intensity_source"] == want.intensity_source
    assert s["metadata"]["location"] == want.location


def test_co2_by_source_sums_to_the_co2_and_weighs_coal_heavier(c: Client, logdir: tuple[Path, dict]) -> None:
    s = get(c, "/summary?run=base")  # DE: a coal-heavy grid
    assert s["co2_by_source_factors"] == dataset.load().factors_source
    parts = [(s["co2_by_source_kg"], s["totals"]["co2_kg"], s["mix_kwh"])]
    parts += [(st["co2_by_source_kg"], st["co2_kg"], st["mix_kwh"]) for st in s["stages"]]
    factors = dataset.load().factors
    for split, co2, mix in parts:
        assert set(split) == {k for k, v in mix.items() if v > 0}
        assert math.isclose(sum(split.values()), co2, rel_tol=REL)
        # each part in proportion to its energy x its lifecycle factor
        assert math.isclose(split["coal"] / split["wind"], mix["coal"] * factors["coal"] / (mix["wind"] * factors["wind"]),
                            rel_tol=REL)
        assert split["coal"] / co2 > mix["coal"] / sum(mix.values())
        assert split["wind"] / co2 < mix["wind"] / sum(mix.values())
    mix = get(c, "/mix?run=base")
    assert mix["co2_by_source_kg"] == s["co2_by_source_kg"]
    assert [st["co2_by_source_kg"] for st in mix["stages"]] == [st["co2_by_source_kg"] for st in s["stages"]]


def test_series_watched_mix_compare(c: Client, logdir: tuple[Path, dict]) -> None:
    want = logdir[1]["base"]
    ser = get(c, "/series?run=base&points=5")
    assert set(ser["stages"]) == {"train", "eval"}
    energy = ser["stages"]["train"]["energy_kwh"]
    assert len(energy["step"]) == len(energy["value"]) == len(energy["wall_time"]) <= 5
    train_steps = [r.step for r in read_records(logdir[0] / "base" / "green.csv") if r.stage == "train"]
    assert energy["step"][-1] == train_steps[-1]  # the latest point is always kept
    assert math.isclose(energy["value"][-1], want.stages["train"].energy_kwh, rel_tol=F32)
    assert energy["value"] == sorted(energy["value"])  # running totals only grow
    full = get(c, "/series?run=base&points=5000")["stages"]["train"]["power_w"]
    assert len(full["step"]) == 24  # 24 update(step=)s (the stop extends the last), all kept with points >= records
    watched = get(c, "/watched?run=base&points=100")["stages"]
    assert len(watched["train"]["loss"]["value"]) == 24 and watched["eval"]["loss"]["value"]
    mix = get(c, "/mix?run=base")
    assert math.isclose(sum(mix["mix_shares"].values()), 1.0, rel_tol=1e-12)
    assert {s["stage"] for s in mix["stages"]} == {"train", "eval"}
    cmp = get(c, "/compare?run=base&run=fr&run=base")["runs"]
    assert [r["run"] for r in cmp] == ["base", "fr"]
    assert close(cmp[1]["energy_kwh"], logdir[1]["fr"].total.energy_kwh)
    assert cmp[1]["location"] == "FR" and cmp[0]["location"] == "DE"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/summary", 400),
        ("/summary?run=", 400),
        ("/summary?run=" + "x" * 5000, 400),
        ("/summary?run=nope", 404),
        ("/mix?run=nope", 404),
        ("/series?run=base&points=abc", 400),
        ("/series?run=base&points=1", 400),
        ("/series?run=base&points=999999", 400),
        ("/series?run=nope", 404),
        ("/watched", 400),
        ("/compare", 400),
        ("/compare?run=base&run=", 400),
        ("/compare?run=base&run=nope", 404),
        ("/compare?" + "&".join(f"run=r{i}" for i in range(60)), 400),
        ("/static/../plugin.py", 400),
        ("/static/%2e%2e/plugin.py", 400),
        ("/static//etc/passwd", 400),
        ("/static/nothing-here.js", 404),
    ],
)
def test_bad_requests_get_json_errors(c: Client, path: str, code: int) -> None:
    body = get(c, path, code)
    assert isinstance(body["error"], str) and body["error"]


def test_static_serves_the_bundle(c: Client) -> None:
    bundle = Path(green_plugin.STATIC_DIR) / "index.js"
    if not bundle.is_file():
        pytest.fail(f"{bundle} missing: build the frontend (npm --prefix frontend ci && npm --prefix frontend run build)")
    r = c.get("/data/plugin/green/static/index.js")
    assert r.status_code == 200 and r.mimetype == "text/javascript"
    assert r.get_data() == bundle.read_bytes()
    assert b"render" in r.get_data()


def test_default_retention_keeps_totals_exact(logdir: tuple[Path, dict]) -> None:
    """TensorBoard's default reservoir (10 tensors per tag) drops records; totals stay exact, splits are marked."""
    c = client(logdir[0], samples_per_plugin={})
    want = logdir[1]["base"]
    s = get(c, "/summary?run=base")
    assert s["complete"] is False and s["records_kept"] < s["records_emitted"] == want.total.records
    assert close(s["totals"]["energy_kwh"], want.total.energy_kwh)
    assert close(s["totals"]["co2_kg"], want.total.co2_kg)
    assert close({x["stage"]: x for x in s["stages"]}["train"]["energy_kwh"], want.stages["train"].energy_kwh)
    assert math.isclose(sum(s["mix_kwh"].values()), want.total.facility_energy_kwh, rel_tol=1e-9)


def _append_green_event(run_dir: Path, tag: str, text: str, step: int) -> None:
    w = SummaryWriter(str(run_dir))
    summary = summary_pb2.Summary()
    summary.value.add(tag=tag, metadata=GREEN_META, tensor=string_tensor(text))
    w._get_file_writer().add_summary(summary, step)
    w.close()


def test_corrupt_and_truncated_files_never_500(tmp_path: Path, logdir: tuple[Path, dict]) -> None:
    src = logdir[0] / "base"
    # 1. a truncated event file (cut mid-record)
    trunc = tmp_path / "truncated"
    shutil.copytree(src, trunc)
    ev = next(trunc.glob("events.out.tfevents.*"))
    data = ev.read_bytes()
    ev.write_bytes(data[: int(len(data) * 0.6)])
    # 2. garbage appended to an event file
    garbage = tmp_path / "garbage"
    shutil.copytree(src, garbage)
    ev = next(garbage.glob("events.out.tfevents.*"))
    ev.write_bytes(ev.read_bytes() + b"\x00\xffnot an event record\x13" * 50)
    # 3. green records that are not records: bad JSON, wrong types, missing fields; bad metadata
    bad = tmp_path / "badrecords"
    shutil.copytree(src, bad)
    good = json.loads(next(iter(_first_record(src))))
    wrong_type = dict(good, seq=10_000, energy_kwh="lots", stage="train")
    _append_green_event(bad, record_tag("train"), "{not json", 100)
    _append_green_event(bad, record_tag("eval"), json.dumps(wrong_type), 101)
    _append_green_event(bad, record_tag("ghost"), json.dumps({"run": "x", "stage": "ghost"}), 102)
    _append_green_event(bad, "green/run_metadata", "[1, 2", 103)
    # 4. a run whose only green data is broken
    only_bad = tmp_path / "only_bad"
    _append_green_event(only_bad, record_tag("train"), '{"seq": "zero"}', 0)
    # 5. an event file that is pure noise
    noise = tmp_path / "noise"
    noise.mkdir()
    (noise / "events.out.tfevents.0.noise").write_bytes(b"\x01" * 1000)

    c = client(tmp_path)
    runs = {r["run"] for r in get(c, "/runs")["runs"]}
    assert {"truncated", "garbage", "badrecords", "only_bad"} <= runs
    for run in runs:
        for route in ("/summary", "/mix", "/series", "/watched", "/compare"):
            r = c.get(f"/data/plugin/green{route}?run={run}")
            assert r.status_code in (200, 404), (run, route, r.status_code, r.get_data(as_text=True)[:300])
            json.loads(r.get_data(as_text=True))
    want = logdir[1]["base"]
    s = get(c, "/summary?run=garbage")
    assert close(s["totals"]["energy_kwh"], want.total.energy_kwh)
    s = get(c, "/summary?run=badrecords")
    assert close(s["totals"]["energy_kwh"], want.total.energy_kwh)  # the corrupt records were skipped
    assert "ghost" not in {x["stage"] for x in s["stages"]}
    s = get(c, "/summary?run=truncated")
    assert s["has_records"] and s["totals"]["energy_kwh"] <= want.total.energy_kwh
    assert get(c, "/summary?run=only_bad")["has_records"] is False


def _first_record(run_dir: Path) -> list[str]:
    """The JSON text of the run's green records, read from its event file with TensorBoard's proto."""
    from tensorboard.backend.event_processing import event_file_loader

    out = []
    for ev_file in run_dir.glob("events.out.tfevents.*"):
        for event in event_file_loader.EventFileLoader(str(ev_file)).Load():
            assert isinstance(event, event_pb2.Event)
            for v in event.summary.value:
                if v.tag.endswith("/record"):
                    out.append(v.tensor.string_val[0].decode())
    return out


def test_loader_survives_a_broken_plugin_module(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A plugin module that fails to import leaves TensorBoard running without the tab."""
    monkeypatch.setitem(sys.modules, "greenops_tb.plugin.plugin", None)  # makes the import raise
    assert GreenLoader().load(base_plugin.TBContext(data_provider=None)) is None
    assert "Green tab could not be loaded" in caplog.text


def test_logdir_without_green_data(tmp_path: Path) -> None:
    """Plain TensorBoard runs only: no green runs, the tab is disabled, run routes answer 404."""
    w = SummaryWriter(str(tmp_path / "plain"))
    w.add_scalar("loss", 1.0, 0)
    w.close()
    c = client(tmp_path)
    assert get(c, "/runs") == {"runs": []}
    get(c, "/summary?run=plain", 404)
    get(c, "/series?run=plain", 404)
    listing = json.loads(c.get("/data/plugins_listing").get_data(as_text=True))
    assert listing["green"]["enabled"] is False


class ContextSource(ConstantPowerSource):
    """Two GPUs and a CPU at constant power; the GPUs report known, varying context at each boundary."""

    MEM_GB = (11.5, 12.5, 12.0)

    def __init__(self) -> None:
        super().__init__({"gpu:0": 200.0, "gpu:1": 150.0, "cpu:0": 40.0}, label="model-test")
        self.calls = 0

    def context(self) -> list[dict[str, float]]:
        self.calls += 1
        return [{"util_pct": 87.0, "mem_used_gb": self.MEM_GB[self.calls % 3]},
                {"util_pct": float(10 * (self.calls % 9))}, {}]


def test_summary_devices_carry_context_means_peaks_and_last(tmp_path: Path) -> None:
    """util_pct: duration-weighted mean; every key: max and last; devices without context: {}."""
    train(tmp_path / "ctx", steps=12, eval_every=4, country="DE", meters=[ContextSource()])
    records = read_records(tmp_path / "ctx" / "green.csv")
    s = get(client(tmp_path), "/summary?run=ctx")
    devices = {d["device"]: d for d in s["devices"]}
    assert s["complete"] is True and devices["cpu:0"]["context"] == {}
    assert set(devices["gpu:1"]["context"]) == {"util_pct"}, "keys no record reports stay absent"
    util0 = devices["gpu:0"]["context"]["util_pct"]
    assert close(util0["mean"], 87.0, 1e-12) and util0["max"] == util0["last"] == 87.0
    mem = devices["gpu:0"]["context"]["mem_used_gb"]
    mems = [r.devices["gpu:0"].context["mem_used_gb"] for r in records]
    assert mem["max"] == 12.5 == max(mems) and mem["last"] == mems[-1]
    assert len(set(mems)) > 1, "the run saw memory change, so max and last can differ"
    util1 = [(r.devices["gpu:1"].context["util_pct"], r.duration_s) for r in records]
    want = sum(u * d for u, d in util1) / sum(d for _, d in util1)
    got = devices["gpu:1"]["context"]["util_pct"]
    assert close(got["mean"], want, 1e-12) and got["last"] == util1[-1][0] and got["max"] == max(u for u, _ in util1)
    assert not close(got["mean"], sum(u for u, _ in util1) / len(util1), 1e-6), "weighted by duration, not per record"
