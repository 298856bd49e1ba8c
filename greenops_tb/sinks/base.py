"""The sink interface and the one fan-out that owns the failure policy.

Every record goes to every sink, in order, as one :class:`~greenops_tb.format.text.RecordText`
(each number formatted once). A sink that fails never crashes training and never stops the
other sinks: its first failure is reported with ONE warning; a sink that cannot be trusted
after a failure (``retry_after_failure = False``, e.g. the CSV) is closed and dropped.
"""
from __future__ import annotations

import contextlib
import warnings
from typing import Protocol, Sequence, runtime_checkable

from greenops_tb.format.text import RecordText


@runtime_checkable
class RecordSink(Protocol):
    """Where records go. Every sink gets the same record (its ``chain_hash`` set before any sink sees it)."""

    name: str  # in the failure warning, e.g. "csv"
    retry_after_failure: bool  # False: dropped (and closed) after its first failure

    def write(self, text: RecordText, closing: bool) -> None:
        """Record ``text.rec``; ``closing``: it ends a stage (``stop()``), not an ``update()``."""
        ...

    def flush(self) -> None:
        """Write what was given so far to the file now (after each batch of records; stop, flush, close)."""
        ...

    def close(self) -> None:
        ...


class SinkFanOut:
    """Writes each record to every sink; "warn once, keep training, keep the other sinks"."""

    def __init__(self, sinks: Sequence[RecordSink]) -> None:
        self._sinks = tuple(sinks)
        self._failed: set[str] = set()

    def __contains__(self, sink: object) -> bool:
        """Whether ``sink`` still gets records (not dropped after a failure)."""
        return sink in self._sinks

    def write(self, text: RecordText, closing: bool) -> None:
        """Called by Stages under its build lock, in seq order (see :mod:`greenops_tb.recording.batch`)."""
        for sink in self._sinks:
            try:
                sink.write(text, closing)
            except Exception as err:  # noqa: BLE001 - a sink must never crash training
                self.report(sink, err)

    def flush(self) -> None:
        """Write every sink's records to its file now (after each batch of records)."""
        self._each("flush")

    def close(self) -> None:
        """Close every sink; failures are reported like write failures."""
        self._each("close")

    def _each(self, method: str) -> None:
        for sink in self._sinks:
            try:
                getattr(sink, method)()
            except Exception as err:  # noqa: BLE001 - one sink's failure must not stop the others
                self.report(sink, err)

    def report(self, sink: RecordSink, err: BaseException) -> None:
        """Warn about ``sink``'s first failure; drop it if it is not to be retried."""
        if sink.name not in self._failed:
            self._failed.add(sink.name)
            warnings.warn(
                f"greenops_tb: writing the {sink.name} failed ({type(err).__name__}: {err}); "
                "training continues and the other sink keeps recording", RuntimeWarning, stacklevel=6,
            )
        if not sink.retry_after_failure and sink in self:
            self._sinks = tuple(s for s in self._sinks if s is not sink)
            with contextlib.suppress(Exception):  # already reported
                sink.close()
