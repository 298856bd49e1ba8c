"""Property tests: arbitrary records round-trip through every encoder and decoder of the on-disk format.

Records are drawn from the field table (:mod:`greenops_tb.format.fields`), so a new field is covered
as soon as it is declared: any float (NaN, infinities, -0.0), any int64, any text (unicode, long cells,
spreadsheet formula leads and their fullwidth forms, quotes before them). Through the record JSON,
the CSV (the real sink writing a real file, read back by the real reader) and the TensorBoard event
(both encoders, parsed back as the data provider hands the record tensor over).
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import tempfile
import typing

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tensorboard.compat.proto import event_pb2

from greenops_tb.format.columns import neutralise_text, unneutralise_text
from greenops_tb.format.fields import BY_NAME, FIELDS, SOURCES, Cell, Kind
from greenops_tb.format.schema import SPLIT_FIELDS, TIME_LIMIT_S, DeviceEnergy, Record
from greenops_tb.format.summary import MALFORMED, parse_record, record_summary
from greenops_tb.format.tags import EVENT_SCALARS, record_tag
from greenops_tb.format.forms import quote_json
from greenops_tb.format.text import RecordText, number_texts
from greenops_tb.readers.csv import read_records
from greenops_tb.sinks.csv import CsvSink, choose_columns
from greenops_tb.sinks.events import RecordEvents

LEADS = "=+-@\t\uff1d\uff0b\uff0d\uff20"
SETTINGS = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

TIMES = ("start_time", "end_time")
floats = st.floats(width=64)  # NaN, infinities and -0.0 included
finite = st.floats(allow_nan=False, allow_infinity=False)


def texts(line_breaks: bool = True) -> st.SearchStrategy[str]:
    """Any text, text led by formula leads (after quotes or not), and long cells."""
    chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="" if line_breaks else "\r\n")
    plain = st.text(chars, max_size=40)
    led = st.tuples(st.text("'", max_size=3), st.sampled_from(LEADS), plain).map("".join)
    return st.one_of(plain, plain, led, led, st.text(chars, min_size=200, max_size=1000))  # long cells: 1 in 5


names = st.from_regex(r"[A-Za-z0-9_.\-]{1,12}(/[A-Za-z0-9_.\-]{1,8})?", fullmatch=True)  # watched names, as checked
maps = st.dictionaries(texts(), floats, max_size=4)
devices = st.dictionaries(texts(), st.builds(DeviceEnergy, texts(), floats, texts(),
                                             st.dictionaries(texts(), floats, max_size=2)), max_size=3)


@st.composite
def records(draw: st.DrawFn, *, csv: bool = False, checked: bool = False) -> Record:
    """A record with every field drawn by its kind. ``csv``: no raw line breaks in text (the sink writes
    them as spaces, one line per row) and mix keys among the CSV's sources; ``checked``: finite totals,
    as the event reader requires."""
    values: dict[str, typing.Any] = {}
    for f in FIELDS:
        if f.kind is Kind.TEXT:
            value = draw(st.from_regex(r"([0-9a-f]{64})?", fullmatch=True) if f.cell is Cell.CHAIN
                         else texts(line_breaks=not csv))
        elif f.kind is Kind.INT:
            value = draw(st.integers(-(2**63), 2**63 - 1))
        elif f.name in TIMES and (csv or checked):  # what every reader can hold (readers skip the rest, counted)
            value = draw(st.floats(-TIME_LIMIT_S, TIME_LIMIT_S, exclude_min=True, exclude_max=True))
        elif f.kind is Kind.FLOAT:
            value = draw(finite if checked and f.finite else floats)
        elif f.kind is Kind.MAYBE_FLOAT:
            value = draw(st.none() | floats)
        elif f.kind is Kind.DEVICES:
            value = draw(devices)
        elif f.cell is Cell.SPREAD:
            value = draw(st.dictionaries(st.sampled_from(SOURCES), floats, max_size=4))
        elif f.cell is Cell.WATCH:
            value = draw(st.dictionaries(names, floats, max_size=4))
        else:
            value = draw(maps)
        values[f.name] = value
    return Record(**values)


def canonical(rec: Record) -> str:
    """The record as comparable text: NaN equal to NaN, -0.0 unequal to 0.0, 1 unequal to 1.0."""
    return json.dumps(rec.to_json(), sort_keys=True, allow_nan=True)


def test_the_field_table_declares_every_record_field_with_its_type():
    assert [f.name for f in FIELDS if f.name not in BY_NAME] == []
    declared = {f.name: f.type for f in dataclasses.fields(Record)}
    assert {f.name: f.kind.value for f in FIELDS} == declared
    for attr in EVENT_SCALARS.values():  # every Scalars-tab curve is a field or a property of a record
        assert attr in declared or isinstance(getattr(Record, attr), property)


@SETTINGS
@given(records())
def test_json_round_trips_any_record(rec: Record) -> None:
    text = RecordText(rec).json()  # the sinks' (orjson, or the json module when a number is not finite)
    assert repr(json.loads(text)) == repr(json.loads(rec.to_json_str()))  # the same values, NaN and -0.0 included
    assert canonical(Record.from_json_str(text)) == canonical(rec)


@SETTINGS
@given(st.lists(records(csv=True), min_size=1, max_size=2), st.booleans())
def test_csv_round_trips_any_records_through_the_sink_and_the_reader(recs: list[Record], chain: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "green.csv")
        sink = CsvSink(path, base_columns=choose_columns(None), chain=chain)
        for rec in recs:
            sink.write(RecordText(rec))
        sink.close()
        back = read_records(path)
    event_only = dict.fromkeys(SPLIT_FIELDS, {})
    want = [dataclasses.replace(r, **event_only, **({} if chain else {"chain_hash": ""})) for r in recs]
    assert [canonical(r) for r in back] == [canonical(r) for r in want]


@SETTINGS
@given(texts())
def test_neutralised_text_reads_back_as_written_and_never_starts_with_a_formula_lead(s: str) -> None:
    cell = neutralise_text(s)
    assert unneutralise_text(cell) == s
    assert not cell.startswith(tuple(LEADS))


@SETTINGS
@given(records(checked=True))
def test_tensorboard_events_round_trip_any_record(rec: Record) -> None:
    data = RecordEvents().encode(rec)
    plain = event_pb2.Event(summary=record_summary(rec), step=rec.step, wall_time=rec.end_time)
    assert data == plain.SerializeToString()  # the cached-layout encoder writes what the plain one does
    fast = event_pb2.Event.FromString(data)
    assert (fast.step, fast.wall_time) == (rec.step, rec.end_time)
    record_value = fast.summary.value[0]
    assert record_value.tag == record_tag(rec.stage)
    back = parse_record(record_value.tensor.string_val[0])  # bytes, as the data provider's tensor holds them
    assert canonical(back) == canonical(rec)


@SETTINGS
@given(records(), st.sampled_from([f.name for f in FIELDS if f.finite and f.kind is Kind.FLOAT]),
       st.sampled_from([math.nan, math.inf, -math.inf]))
def test_events_with_non_finite_totals_are_refused_as_malformed(rec: Record, name: str, bad: float) -> None:
    text = RecordText(dataclasses.replace(rec, **{name: bad})).json()
    try:
        parse_record(text.encode())
    except MALFORMED:
        return
    raise AssertionError(f"a record with {name}={bad} was accepted")


_NUMBER = st.one_of(st.none(), st.integers(-2**62, 2**62), st.floats(allow_nan=True, allow_infinity=True))


@SETTINGS
@given(st.lists(_NUMBER, max_size=12))
def test_number_texts_read_back_as_the_numbers_whichever_path_formats_them(values: list) -> None:
    # orjson's text, or the standard library's when a value is not finite
    texts, cells, exact = number_texts(values, values.count(None), range(len(values)))
    assert len(cells) == len(texts) == len(values)
    assert exact == any(v is not None and not math.isfinite(v) for v in values)
    for v, cell, text in zip(values, cells, texts):
        if v is None:
            assert (cell, text) == ("", "null")
        else:
            assert repr(float(cell)) == repr(float(v))  # exact: NaN as nan, -0.0 kept
            assert repr(float(json.loads(text))) == repr(float(v))  # NaN as NaN, Infinity as Infinity


@SETTINGS
@given(st.dictionaries(st.text(), st.floats(allow_nan=True, allow_infinity=True), max_size=4))
def test_json_cells_are_quoted_as_the_csv_module_quotes_them(d: dict) -> None:
    cell = json.dumps(d, separators=(",", ":"))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(["x", cell])
    assert buf.getvalue() == "x," + quote_json(cell) + "\r\n"
    assert next(csv.reader(io.StringIO(buf.getvalue())))[1] == cell
    assert repr(json.loads(cell)) == repr(d)
