"""The fast per-record encoders give exactly what the schema defines: CSV cells, JSON and event bytes."""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import time

from tensorboard.compat.proto import event_pb2

from greenops_tb.format.columns import csv_columns, row_to_record
from greenops_tb.format.schema import SOURCES, DeviceEnergy, Record
from greenops_tb.format.rows import record_to_row
from greenops_tb.format.text import RecordText
from greenops_tb.readers.csv import read_records
from greenops_tb.sinks.events import RecordEvents, record_summary


def _rec(**over) -> Record:
    kw = dict(
        run="=run", stage="train", seq=3, step=7, epoch=1, start_time=1.7e9, end_time=1.7e9 + 0.25,
        duration_s=0.25, energy_kwh_gpu=0.0, energy_kwh_cpu=1.2345e-6, energy_kwh_ram=1.1e-7, energy_kwh=1.3345e-6,
        facility_energy_kwh=2.0e-6, avg_power_w=19.2168, co2_kg=7.3e-7, cost=None, currency="EUR",
        price_source="-unknown", carbon_intensity_g_per_kwh=365.0, intensity_source="ember-2024", location="DE",
        location_source="argument", pue=1.0, mix_kwh={s: 1e-7 * (i + 1) for i, s in enumerate(SOURCES[:5])},
        devices={"gpu:0": DeviceEnergy("gpu", 0.0, "=nvml"), "cpu:0": DeviceEnergy("cpu", 1.2345e-6, "model-tdp")},
        watched={"loss": math.nan, "lr": 0.01, "late": math.inf}, stage_duration_s=1.5, stage_energy_kwh=4e-6,
        stage_co2_kg=1e-6, stage_cost=0.25, run_duration_s=2.0, run_energy_kwh=5e-6, run_co2_kg=2e-6, run_cost=None,
    )
    kw.update(over)
    return Record(**kw)


VARIANTS = [{}, {"cost": 0.5, "run_cost": 1.0}, {"watched": {}}, {"mix_kwh": {}}, {"devices": {}},
            {"chain_hash": "ab12"}, {"watched": {"lr": -0.0, "loss": 1e300, "neg": -3.5e38, "edge": 3.4028235e38}},
            {"stage": "eval/x", "step": 2**40}]


def _same(a: Record, b: Record) -> bool:
    return json.dumps(a.to_json(), sort_keys=True) == json.dumps(b.to_json(), sort_keys=True)


def test_csv_cells_follow_the_schema_for_every_column_kind():
    rec = _rec(pue=1, energy_kwh_gpu=0)
    cols = csv_columns(["loss", "lr"], chain=True)
    row = dict(zip(cols, record_to_row(rec, cols)))
    assert row["run"] == "'=run" and row["price_source"] == "'-unknown"  # formulas neutralised
    assert row["seq"] == "3" and row["step"] == "7"
    assert float(row["pue"]) == 1.0 and float(row["energy_kwh_gpu"]) == 0.0  # ints in float fields read as floats
    assert row["cost"] == "" and row["stage_cost"] == "0.25"  # None = empty cell
    assert row["watch:loss"] == "nan" and row["watch:lr"] == "0.01"
    assert json.loads(row["watched_extra"]) == {"late": math.inf}
    assert float(row["mix_kwh_coal"]) == 1e-7 and row["mix_kwh_solar"] == ""
    assert row["provenance"] == "cpu:0=model-tdp;gpu:0==nvml"
    assert json.loads(row["devices_json"])["gpu:0"]["provenance"] == "=nvml"
    assert row["chain_hash"] == ""


def test_csv_rows_round_trip_for_full_subset_and_reordered_headers():
    headers = [csv_columns(["loss", "lr"]), csv_columns(["loss", "lr", "late"]), csv_columns([]),
               ["watch:lr", "step", "run", "stage", "watched_extra", "seq", "energy_kwh", "mix_kwh_gas", "run_cost"]]
    for over in VARIANTS:
        rec = _rec(**over)
        for cols in headers:
            cells = record_to_row(rec, cols)
            assert len(cells) == len(cols)
            # through a real CSV writer and reader, as the sink and readers do
            buf = io.StringIO()
            csv.writer(buf).writerow(cols)
            csv.writer(buf).writerow(cells)
            back = row_to_record(next(csv.DictReader(io.StringIO(buf.getvalue()))))
            assert back.watched.keys() == rec.watched.keys()
            for name in ("step", "run", "seq", "energy_kwh"):
                assert getattr(back, name) == getattr(rec, name)
            if cols == headers[0]:
                assert _same(back, dataclasses.replace(rec, chain_hash=""))
    # one column, no column, a repeated column
    assert record_to_row(_rec(), ["step"]) == ["7"]
    assert record_to_row(_rec(), []) == []
    energy, seq, again = record_to_row(_rec(), ["energy_kwh", "seq", "energy_kwh"])
    assert float(energy) == 1.3345e-6 and seq == "3" and again == energy


def test_json_round_trips_and_keeps_nan():
    for over in VARIANTS:
        rec = _rec(**over)
        s = rec.to_json_str()
        assert " " not in s.replace("EUR", "")  # compact separators
        assert _same(Record.from_json_str(s), rec)
        assert json.loads(s)["schema"] == 1


def _loaded(text: str | bytes) -> str:
    """What a JSON text reads back as, NaN included (repr: NaN equals NaN, -0.0 differs from 0.0)."""
    return repr(json.loads(text))


def test_record_json_and_json_cells_read_back_exactly_as_the_json_module_writes_them():
    ref = json.JSONEncoder(separators=(",", ":"))  # ensure_ascii and allow_nan as json.dumps
    cols = csv_columns(["loss"])
    odd = [
        {"currency": "€", "run": 'a"b\\c%s', "location": "Zürich\n"},
        {"devices": {"gpu:0": DeviceEnergy("gpu", 1e-9, "nvml", {"util_pct": 50.0, "mem_used_gb": 1.5}),
                     "ram": DeviceEnergy("ram", math.nan, "model-rss %d")}},
        {"avg_power_w": math.nan, "co2_kg": math.inf, "duration_s": -math.inf, "start_time": -0.0},
        {"watched": {"100%": 1.0, "ü": 2.0, "x": -math.inf}}, {"run_cost": math.nan, "cost": -0.0},
        {"mix_kwh": {"coal": 1.0, "hydro": math.nan}}, {"devices": {"gpu:0": DeviceEnergy("gpu", 0.0, "a")}},
        {"embodied_kg_by_device": {"gpu:0": 1e-7, "cpu:0": math.nan}}, {"run": "x:null", "cost": None},
    ]
    for over in VARIANTS + odd:
        rec = _rec(**over)
        assert rec.to_json_str() == ref.encode(rec.to_json()), over
        sink_json = RecordText(rec).json()
        assert _loaded(sink_json) == _loaded(ref.encode(rec.to_json())), over
        row = dict(zip(cols, record_to_row(rec, cols)))
        assert _loaded(row["devices_json"]) == _loaded(ref.encode({k: v.to_json() for k, v in rec.devices.items()}))
        if rec.embodied_kg_by_device:
            assert _loaded(row["embodied_json"]) == _loaded(ref.encode(rec.embodied_kg_by_device)), over
        for name in ("avg_power_w", "co2_kg", "duration_s", "start_time", "cost", "run_cost"):
            v = getattr(rec, name)
            assert (row[name] == "") if v is None else repr(float(row[name])) == repr(v), (name, over)
    # a NaN is never written as null: the record keeps it (the standard library's path)
    assert '"avg_power_w":NaN' in RecordText(_rec(avg_power_w=math.nan)).json()


def test_record_events_equal_the_summary_built_per_record():
    enc = RecordEvents()
    recs = [_rec(**over) for over in VARIANTS] + [_rec(avg_power_w=float(i), step=i) for i in range(3)]
    announced: set[str] = set()
    for rec in recs + recs[::-1]:  # cached layouts are refilled, never leak values of an earlier record
        want = event_pb2.Event(summary=record_summary(rec), step=rec.step, wall_time=rec.end_time)
        tag = want.summary.value[0].tag
        if tag in announced:  # the record's metadata goes with the first event of its tag only
            want.summary.value[0].ClearField("metadata")
        announced.add(tag)
        got = enc.encode(rec)
        assert got == want.SerializeToString()
        ev = event_pb2.Event.FromString(got)
        assert Record.from_json_str(ev.summary.value[0].tensor.string_val[0]).step == rec.step


def test_stage_records_carry_each_value_in_its_own_field():
    from greenops_tb import ConstantPowerSource
    from greenops_tb.grid import resolve_grid
    from greenops_tb.meters.base import Meter
    from greenops_tb.recording.stages import Pricing, Stages
    from greenops_tb.format.units import J_PER_KWH
    from greenops_tb.recording.watch import Watches

    grid = resolve_grid("FR", price_per_kwh=0.2, currency="EUR")
    it = grid.current()
    watches = Watches()
    watches.add("loss", [0.75])
    meter = Meter([ConstantPowerSource({"gpu:0": 300.0, "cpu:0": 40.0, "ram": 5.0}, label="const")])
    pricing = Pricing("runA", 1.25, 0.2, "EUR", "argument", "FR", "argument")
    emitted = []
    stages = Stages(meter, grid.current, pricing, watches, lambda text, closing: emitted.append(text.rec), seq0=4)
    stages.start("train", step=10, epoch=2)
    a0 = time.perf_counter()
    first = stages.update("train")
    a1 = time.perf_counter()
    time.sleep(0.02)
    b0 = time.perf_counter()
    rec = stages.stop("train")
    b1 = time.perf_counter()
    assert emitted == [first.record, rec]
    assert (rec.run, rec.stage, rec.seq, rec.step, rec.epoch) == ("runA", "train", 5, 11, 2)
    assert first.end_time == rec.start_time < rec.end_time and rec.duration_s > 0
    d = rec.duration_s
    # the interval's reads happened inside [a0, a1] and [b0, b1], measured here, however loaded the machine
    assert b0 - a1 <= d <= b1 - a0
    for kind, watts in (("gpu", 300.0), ("cpu", 40.0), ("ram", 5.0)):
        joules = getattr(rec, f"energy_kwh_{kind}") * J_PER_KWH
        assert watts * (b0 - a1) <= joules <= watts * (b1 - a0)
        # one read of one source for all devices: their energies are in the ratio of their powers, exactly
        assert math.isclose(joules / (rec.energy_kwh_gpu * J_PER_KWH), watts / 300.0, rel_tol=1e-9)
    assert math.isclose(rec.energy_kwh, (300.0 + 40.0 + 5.0) / 300.0 * rec.energy_kwh_gpu, rel_tol=1e-9)
    assert math.isclose(rec.facility_energy_kwh, rec.energy_kwh * 1.25, rel_tol=1e-12)
    assert 345.0 * (b0 - a1) / d <= rec.avg_power_w <= 345.0 * (b1 - a0) / d
    assert math.isclose(rec.co2_kg, rec.facility_energy_kwh * it.carbon_intensity_g_per_kwh / 1000, rel_tol=1e-12)
    assert math.isclose(rec.cost, rec.facility_energy_kwh * 0.2, rel_tol=1e-12)
    assert (rec.currency, rec.price_source, rec.location, rec.location_source, rec.pue) == (
        "EUR", "argument", "FR", "argument", 1.25)
    assert (rec.carbon_intensity_g_per_kwh, rec.intensity_source) == (it.carbon_intensity_g_per_kwh, it.source)
    assert math.isclose(sum(rec.mix_kwh.values()), rec.facility_energy_kwh, rel_tol=1e-9)
    assert rec.devices["gpu:0"].provenance == "const" and rec.watched == {"loss": 0.75}
    assert math.isclose(rec.stage_duration_s, first.duration_s + d, rel_tol=1e-12)
    assert math.isclose(rec.stage_energy_kwh, first.energy_kwh + rec.energy_kwh, rel_tol=1e-12)
    assert math.isclose(rec.stage_cost, first.cost + rec.cost, rel_tol=1e-12)
    assert (rec.run_duration_s, rec.run_energy_kwh, rec.run_co2_kg, rec.run_cost) == (
        rec.stage_duration_s, rec.stage_energy_kwh, rec.stage_co2_kg, rec.stage_cost)
    assert rec.chain_hash == ""
    meter.close()


def test_csv_sink_lines_equal_the_csv_modules_for_awkward_text(tmp_path):
    from greenops_tb.sinks.csv import CsvSink, choose_columns

    awkward = [
        {}, {"run": 'a,"b" c', "location_source": " leading space", "currency": "€"},
        {"price_source": "two\nlines\r\nhere", "intensity_source": '"'},
        {"devices": {"cpu:0": DeviceEnergy("cpu", 1e-9, 'fallback: rapl failed: "EACCES", retry')}},
        {"watched": {"loss": 1.0, 'odd,"name"': 2.0}}, {"run": "", "currency": ""},
        # template syntax and the chain's separator in text, a device named like a field, a NaN in a JSON cell
        {"price_source": "100% %s %(x)d", "location": "a\x1fb", "watched": {"50%": math.nan}},
        {"devices": {"step": DeviceEnergy("cpu", 2e-9, "%s", {"util_pct": 0.5}), "seq": DeviceEnergy("ram", 0.0, "")}},
    ]
    for chain in (False, True):
        path = tmp_path / f"chain{chain}.csv"
        sink = CsvSink(path, base_columns=choose_columns(None), chain=chain)
        want = io.StringIO()
        ref = csv.writer(want, lineterminator="\r\n")
        for i, over in enumerate(awkward * 2):  # twice: remembered quoted forms give the same text
            text = RecordText(_rec(seq=i, **over))
            if sink.chain is not None:  # sealed before any sink sees it, as the stages do
                text = sink.chain.seal(text)
            sink.write(text)
            rec = text.rec
            if i == 0:
                ref.writerow(sink.header)
            cells = [c.replace("\r", " ").replace("\n", " ") for c in record_to_row(rec, sink.header)]
            ref.writerow(cells)
            assert (rec.chain_hash != "") == chain
        sink.close()
        assert path.read_bytes().decode("utf-8") == want.getvalue()
        back = read_records(str(path))  # the rows of the last two read back as the records written
        for i in (len(awkward) - 2, len(awkward) - 1):
            want_rec = _rec(seq=i, **awkward[i])
            assert (back[i].price_source, back[i].location, back[i].devices, repr(back[i].watched)) == (
                want_rec.price_source, want_rec.location, want_rec.devices, repr(want_rec.watched))


def test_stage_mix_totals_follow_grid_shares_that_change_mid_run():
    from greenops_tb import ConstantPowerSource
    from greenops_tb.grid.types import Intensity
    from greenops_tb.meters.base import Meter
    from greenops_tb.recording.stages import Pricing, Stages
    from greenops_tb.recording.watch import Watches

    mixes = [{"coal": 0.5, "wind": 0.5}, {"coal": 0.1, "solar": 0.9}]
    now = [Intensity(400.0, mixes[0], "a")]
    meter = Meter([ConstantPowerSource({"cpu:0": 50.0})])
    records = []
    stages = Stages(meter, lambda: now[0], Pricing("r", 1.5, None, "", "unknown", "DE", "argument"), Watches(),
                    lambda text, closing: records.append(text.rec))
    stages.start("train")
    for i in range(12):
        if i % 4 == 3:  # a live grid's refresh: new shares from now on
            now[0] = Intensity(300.0, mixes[(i // 4 + 1) % 2], "b")
        stages.update("train")
    stages.stop("train")
    per_stage, total = stages.totals()
    want: dict[str, float] = {}
    for rec in records:
        assert math.isclose(sum(rec.mix_kwh.values()), rec.facility_energy_kwh, rel_tol=1e-12)
        for s, v in rec.mix_kwh.items():
            want[s] = want.get(s, 0.0) + v
    assert set(want) == {"coal", "wind", "solar"}
    for got in (per_stage["train"].mix_kwh, total.mix_kwh):
        assert got.keys() == want.keys()
        for s, v in want.items():
            assert math.isclose(got[s], v, rel_tol=1e-12), s
    meter.close()


def test_events_of_a_long_run_keep_the_encoders_memory_bounded():
    """protobuf keeps every string set on a message until the message is freed: the cached event of a layout is
    renewed, so 40,000 records (about 2 KB of JSON each, 80 MB in all) leave its memory where it was."""
    import gc

    import psutil

    events, proc = RecordEvents(), psutil.Process()
    texts = [RecordText(_rec(seq=i, step=i, run="r" * 1500)) for i in range(2)]
    for text in texts * 500:  # warm: the layout and its first renewals
        events.encode(text)
    gc.collect()
    before = proc.memory_info().rss
    for i in range(40_000):
        assert events.encode(texts[i % 2])
    gc.collect()
    grown = proc.memory_info().rss - before
    assert grown < 16 * 2**20, f"encoding 40,000 records grew the process by {grown / 2**20:.0f} MB"


def test_records_the_stages_build_encode_as_the_records_themselves_do():
    """The stages make each record's numbers and compiled form directly (a form is remembered while the texts,
    keys and sources stay the same). Whatever changes between records (watched names, the grid's shares, a
    provenance, a device's context, a second stage, a NaN), the text is the one the record itself encodes to."""
    from greenops_tb.grid.types import Intensity
    from greenops_tb.meters.base import Device, EnergySource, Meter
    from greenops_tb.recording.stages import Pricing, Stages
    from greenops_tb.recording.watch import Watches

    class Busy(EnergySource):
        devices = (Device("gpu:0", "gpu", "G"), Device("cpu:0", "cpu", "C"))

        def __init__(self) -> None:
            self.n = 0

        def read(self) -> list[float]:
            self.n += 1
            return [self.n * 3.0, self.n * 1.0]

        def provenance(self) -> list[str]:
            return ["fake-gpu" if self.n < 40 else "fake-gpu (fallback: lost)", "fake-cpu"]

        def context(self) -> list[dict[str, float]]:
            return [{"util_pct*s": self.n * 40.0, "mem_used_gb": 2.0 + self.n}, {}] if self.n > 20 else [{}, {}]

    now = [Intensity(400.0, {"coal": 0.5, "wind": 0.5}, "a")]
    watches, texts = Watches(), []
    meter = Meter([Busy()])
    stages = Stages(meter, lambda: now[0], Pricing("r", 1.2, 0.3, "EUR", "argument", "DE", "argument"), watches,
                    lambda text, closing: texts.append(text))
    stages.start("train")
    for i in range(60):
        if i == 10:
            watches.add("loss", lambda: 0.25 * len(texts))
        if i == 15:
            now[0] = Intensity(300.0, {"coal": 0.1, "solar": 0.9}, "b")  # a live grid's refresh: the mixes shift
        if i == 25:
            stages.start("eval")
        if i == 30:
            stages.stop("eval", samples=3)
        if i == 50:
            watches.add("odd", lambda: math.nan)
        stages.update("train", samples=i % 3)
    stages.stop("train")
    meter.close()
    cols = csv_columns(["loss"])
    assert len({id(t.form) for t in texts}) >= 6  # the run crossed that many shapes
    for t in texts:
        again = RecordText(t.rec)  # the generic path: the record's values -> its shape, form and numbers
        assert again.form is t.form  # the same shape, so the same remembered form
        assert (t.json(), t.cells(cols)) == (again.json(), again.cells(cols))
        assert repr(json.loads(t.json())) == repr(json.loads(t.rec.to_json_str()))
