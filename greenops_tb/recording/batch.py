"""Records built off the training thread: :class:`Batcher` and what ``update()`` returns.

At a boundary the training thread only reads the meter and queues a compact tuple
(see :class:`~greenops_tb.recording.stages.Stages`); pricing, building the
:class:`~greenops_tb.format.schema.Record`, encoding and writing happen in batches on
one background thread, woken by the first queued entry and working :data:`WINDOW_S`
later, so it wakes at most about 20 times a second whatever the step rate, and
rows reach the files in a bounded window (should the thread fall behind, the training
thread builds the queue itself once its oldest entry is :data:`DRAIN_AGE_S` old).

The crash contract: a ``kill -9`` loses at most the records of the last
:data:`CONTRACT_S` (100 ms); a batch's rows go to the CSV in one ``os.writev`` of whole rows, a row
is on disk whole or not at all (a line without its line end is no row: readers
skip it and a resumed run cuts it off), and nothing older is ever lost.
``stop()``, ``flush()`` and ``close()`` build and write everything queued in the
calling thread and return once it is written to the files.
"""
from __future__ import annotations

import threading
import warnings
from typing import Any, Callable

from greenops_tb.errors import StateError
from greenops_tb.format.schema import Record
from greenops_tb.format.text import RecordText

#: How long the background thread lets entries gather after the first one before building them.
WINDOW_S = 0.05
#: The crash contract's window: rows of records older than this are on disk.
CONTRACT_S = 0.1
#: When the oldest queued entry is older than this, the training thread builds the queue itself (the
#: background thread is starved of the GIL, e.g. by a loop of pure Python): the contract holds regardless.
DRAIN_AGE_S = 0.075


class PendingRecord:
    """The record an ``update()`` closed, built off the caller's path.

    Reading any of its fields (``rec.seq``, ``rec.energy_kwh``, ...) builds every queued record
    first if the background thread has not yet; :attr:`record` is the
    :class:`~greenops_tb.format.schema.Record` itself.
    """

    __slots__ = ("text", "_drain")

    def __init__(self, drain: Callable[[], None]) -> None:
        #: the record's values and text, once built (the Record itself is made on first use)
        self.text: RecordText | None = None
        self._drain = drain

    @property
    def record(self) -> Record:
        if self.text is None:
            self._drain()
            if self.text is None:
                raise StateError("this record was never built: building it failed (see the warning) or the "
                                   "writer belongs to another process")
        return self.text.rec

    def __getattr__(self, name: str) -> Any:
        return getattr(self.record, name)

    def __eq__(self, other: object) -> bool:
        """Equal to its record (and to another pending record of an equal one)."""
        return self.record == (other.record if isinstance(other, PendingRecord) else other)

    def __hash__(self) -> int:
        return hash(self.record)

    def __repr__(self) -> str:
        return f"PendingRecord({self.text.rec!r})" if self.text is not None else "PendingRecord(queued)"


class Batcher:
    """One daemon thread that calls ``drain`` :data:`WINDOW_S` after :meth:`notify` (started on first use)."""

    def __init__(self, drain: Callable[[], None], window_s: float = WINDOW_S) -> None:
        self._drain = drain
        self._window = window_s
        self._pending = threading.Event()  # set by the first entry queued after a drain
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._warned = False

    def notify(self) -> None:
        """An entry was queued (the training thread: an ``is_set`` check, one ``set`` per batch)."""
        if not self._pending.is_set():
            if self._thread is None:
                self._start()
            self._pending.set()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None and not self._closing.is_set():
                self._thread = threading.Thread(target=self._run, name="greenops-records", daemon=True)
                self._thread.start()

    def close(self) -> None:
        """Stop the thread (the caller drains what is left)."""
        self._closing.set()
        self._pending.set()
        with self._start_lock:
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self) -> None:
        while not self._closing.is_set():  # checked here too: close() may come just before the clear below
            self._pending.wait()
            if self._closing.wait(self._window):
                return
            self._pending.clear()  # before draining: entries queued meanwhile set it again
            try:
                self._drain()
            except Exception as err:  # noqa: BLE001 - never crash training; the sinks report their own failures
                if not self._warned:
                    self._warned = True
                    warnings.warn(f"greenops_tb: building records failed ({type(err).__name__}: {err}); "
                                  "training continues", RuntimeWarning, stacklevel=1)
