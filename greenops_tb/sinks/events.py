"""Records into event files: ONE ``Summary`` (one event) per record.

The layout of tags is defined in :mod:`greenops_tb.format.tags`, the summary of a record
in :mod:`greenops_tb.format.summary`. Protos are built directly (no per-value ``add_scalar``),
so one record costs one event.
:class:`RecordEvents` gives the same events serialised, from one cached event
per (stage, scalars present, watched names) whose values are overwritten, so
the protos are built once per layout instead of once per record.

Bytes per record (``benchmarks/bench_volume.py``): scalars are ``simple_value``
floats, as ``SummaryWriter.add_scalar`` writes them (TensorBoard stores scalars as
float32 either way and gives them the ``scalars`` metadata itself), and the green
record's ``SummaryMetadata`` goes with the first event of its tag in each file
only: TensorBoard (the Python ingester and the Rust data server alike) keeps a
tag's metadata from its first event and ignores it afterwards.
"""
from __future__ import annotations

import operator
from itertools import chain, compress
from typing import Any, Callable, Iterable

from tensorboard.compat.proto import event_pb2

from greenops_tb.format.forms import NUMBER_AT
from greenops_tb.format.schema import Record
from greenops_tb.format.workunits import RATES
from greenops_tb.format.summary import metadata_summary as metadata_summary  # importable from here
from greenops_tb.format.summary import record_summary
from greenops_tb.format.tags import EVENT_SCALARS
from greenops_tb.format.text import RecordText
from greenops_tb.sinks.event_file import FastFileWriter


_STEP, _END = NUMBER_AT["step"], NUMBER_AT["end_time"]


def _scalar_values() -> Callable[[list], tuple]:
    """A record's numbers -> its :data:`EVENT_SCALARS` values, in order (None: not written)."""
    fields = [a for a in EVENT_SCALARS.values() if a not in RATES]
    rates = [(RATES[a][0], NUMBER_AT[RATES[a][1]], NUMBER_AT[RATES[a][2]]) for a in EVENT_SCALARS.values() if a in RATES]
    if [*fields, *(a for a in EVENT_SCALARS.values() if a in RATES)] != list(EVENT_SCALARS.values()):
        raise TypeError("EVENT_SCALARS lists the record's fields before its rates (format/tags.py)")
    plain = operator.itemgetter(*(NUMBER_AT[a] for a in fields))
    counts = operator.itemgetter(*{count for _, _, count in rates})
    unknown = (None,) * len(rates)  # every rate before anything was counted

    def values(nums: list) -> tuple:
        if not any(counts(nums)):
            return plain(nums) + unknown
        return (*plain(nums), *[rate(nums[total], nums[count]) for rate, total, count in rates])

    return values


_scalars = _scalar_values()
_NONES = (None,) * len(EVENT_SCALARS)


#: How many records one cached event serialises before it is replaced by a new one: protobuf (upb) keeps every
#: string set on a message in the message's arena until the message is freed, so a message reused for good
#: would grow by a record's JSON per record (about 2 KB); renewed, its memory stays bounded (and setting is faster).
REUSES = 256


class _Layout:
    """One cached event for records of one layout; :meth:`fill` overwrites its values and serialises it."""

    __slots__ = ("_plain", "_event", "_record", "_scalars", "_fresh", "_fills")

    def __init__(self, rec: Record, announced: set[str], tag_suffix: str) -> None:
        event = event_pb2.Event(summary=record_summary(rec, tag_suffix=tag_suffix))
        tag = event.summary.value[0].tag
        self._fresh = tag not in announced  # its first event in this file carries the metadata
        announced.add(tag)
        plain = event_pb2.Event()
        plain.CopyFrom(event)
        plain.summary.value[0].ClearField("metadata")
        self._plain = plain.SerializeToString()  # renewed from (see REUSES)
        self._use(event if self._fresh else plain)

    def _use(self, event: event_pb2.Event) -> None:
        self._event, self._fills = event, 0
        values = event.summary.value
        self._record = values[0].tensor.string_val
        self._scalars = list(values[1:])

    def fill(self, text: RecordText, values: Iterable[float]) -> bytes:
        """The event of ``text``'s record, whose scalars (its layout's, in order) are ``values``."""
        if self._fills == REUSES:
            self._use(event_pb2.Event.FromString(self._plain))
        self._fills += 1
        event, nums = self._event, text.nums
        event.wall_time = nums[_END]
        event.step = nums[_STEP]
        self._record[0] = text.json_bytes()
        for box, v in zip(self._scalars, values):
            box.simple_value = v
        data = event.SerializeToString()
        if self._fresh:
            self._fresh = False
            self._use(event_pb2.Event.FromString(self._plain))
        return data


class RecordEvents:
    """Serialised ``Event`` bytes per record, equal to ``Event(summary=record_summary(rec), step=rec.step,
    wall_time=rec.end_time).SerializeToString()`` except that the record's metadata goes with the first event of
    its tag only (one RecordEvents per event file). Not thread-safe: the writer calls it under the stages' lock."""

    def __init__(self, tag_suffix: str = "") -> None:
        self._tag_suffix = tag_suffix
        self._layouts: dict[tuple, _Layout] = {}
        self._announced: set[str] = set()  # record tags whose metadata this file has

    def encode(self, item: Record | RecordText) -> bytes:
        """The event of a record (or of its :class:`RecordText`)."""
        text = item if isinstance(item, RecordText) else RecordText(item)
        form, nums = text.form, text.nums
        values = _scalars(nums)
        unknown = tuple(map(operator.is_, values, _NONES))  # which scalars are None (not written)
        key = (form, unknown)
        layout = self._layouts.get(key)
        if layout is None:
            layout = self._layouts[key] = _Layout(text.rec, self._announced, self._tag_suffix)
        known = values if True not in unknown else compress(values, map(operator.not_, unknown))
        return layout.fill(text, chain(known, nums[form.watched_span]))


class EventSink:
    """Records into a TensorBoard FileWriter, as a :class:`~greenops_tb.sinks.base.RecordSink`.

    On our own :class:`~greenops_tb.sinks.event_file.FastFileWriter` each record is serialised, and
    ``flush()`` (after each batch) frames and writes them in one go; on any other file writer it goes
    as a Summary and ``flush()`` flushes. ``emit_every``: write every Nth ``update()`` record
    of a stage (a stage's end always). ``tag_suffix``: a rank's, appended to every tag.
    """

    name = "events"
    retry_after_failure = True

    def __init__(self, file_writer: Any, emit_every: int = 1, tag_suffix: str = "") -> None:
        self._fw = file_writer
        self._emit_every = emit_every
        self._tag_suffix = tag_suffix
        self._counts: dict[str, int] = {}
        self._batch: list[bytes] = []  # encoded events not yet written (FastFileWriter)
        if isinstance(file_writer, FastFileWriter):
            append, encode = self._batch.append, RecordEvents(tag_suffix).encode
            self._add: Callable[[RecordText], None] = lambda text: append(encode(text))
            self._flush: Callable[[], None] = self._write_batch
        else:
            self._add, self._flush = self._add_summary, file_writer.flush

    def _add_summary(self, text: RecordText) -> None:
        self._fw.add_summary(record_summary(text.rec, tag_suffix=self._tag_suffix), text.rec.step, text.rec.end_time)

    def write(self, text: RecordText, closing: bool) -> None:
        if self._emit_every > 1 and not closing:
            stage = text.rec.stage
            n = self._counts[stage] = self._counts.get(stage, 0) + 1
            if n % self._emit_every:
                return
        self._add(text)

    def _write_batch(self) -> None:
        batch = self._batch[:]
        self._batch.clear()
        self._fw.event_writer.write_now(batch)

    def flush(self) -> None:
        """Write the records given so far to the file now."""
        self._flush()

    def close(self) -> None:
        """Close the file writer (a no-op when ``SummaryWriter.close()`` closed it already)."""
        self._fw.close()

