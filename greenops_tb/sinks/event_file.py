"""GreenSummaryWriter's event file: TensorBoard's format, written without a per-event thread hop.

TensorBoard's ``EventFileWriter`` (without TensorFlow) queues every event for a
background thread that checksums it in pure Python (~0.1 us per byte) and
opens, appends to and closes the file once per event. :class:`EventFile`
writes the same TFRecord framing (length, masked CRC-32C of the length, data,
masked CRC-32C of the data; checksums from google-crc32c, identical values)
to an in-memory buffer in the calling thread, under a lock; the buffer goes
to the file (:func:`~greenops_tb.sinks.appends.append_all`: ``os.writev`` of the framed
records as they are, never joined into one copy) at each flush and whenever it holds
:data:`BUFFER_BYTES`.

* Flushing: a daemon thread flushes at most ``min(flush_secs, FLUSH_INTERVAL_S)`` (+ WAKE_BATCH_S,
  80 ms in all) after the first unflushed event, so a live TensorBoard sees data about as
  soon as with TensorBoard's writer; ``flush()``/``close()`` flush in the calling thread.
* Green records come in batches from the records thread, or from ``stop()`` in the caller's (see
  :mod:`greenops_tb.recording.batch`), which writes them itself (:meth:`EventFile.write_now`);
  the user's own events are framed by the caller and written by the flush thread.
* Errors on the flush thread are raised by the next call, as TensorBoard's writer does.

Only :class:`GreenSummaryWriter`'s own file writer uses this; other
``SummaryWriter``s in the process are untouched.
"""
from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
import time

import google_crc32c
from tensorboard.compat.proto import event_pb2
from tensorboard.summary.writer.event_file_writer import _global_uid
from torch.utils.tensorboard.writer import FileWriter

from greenops_tb.errors import UsageTypeError
from greenops_tb.sinks.appends import append_all

#: Longest time an event waits in the buffer before the flush thread writes it (unless flush_secs is
#: shorter): with WAKE_BATCH_S, a record reaches the file ~80 ms after ``update()`` (target <= 100 ms). The
#: caller pays nothing for it (the thread writes at most ~10 times a second, whatever the step rate).
FLUSH_INTERVAL_S = 0.07
#: After a wake-up, how long the flush thread lets more events gather before writing them in one go.
WAKE_BATCH_S = 0.01
#: Buffered bytes beyond which a write goes to the file at once.
BUFFER_BYTES = 1 << 16
_LEN = struct.Struct("<Q")
_CRC = struct.Struct("<I")


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC-32C, equal to ``tensorboard...pywrap_tensorflow.masked_crc32c``."""
    x = google_crc32c.value(data)
    return (((x >> 15) | (x << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame_parts(data: bytes) -> tuple[bytes, bytes, bytes]:
    """One TFRecord in three parts to join: length and its masked CRC, ``data``, its masked CRC."""
    header = _LEN.pack(len(data))
    return header + _CRC.pack(masked_crc32c(header)), data, _CRC.pack(masked_crc32c(data))


def frame(data: bytes) -> bytes:
    """One TFRecord: length, its masked CRC, ``data``, its masked CRC."""
    return b"".join(frame_parts(data))


class EventFile:
    """Same interface as TensorBoard's ``EventFileWriter`` (``add_event``, ``flush``, ``close``, ``get_logdir``)."""

    def __init__(self, logdir: str, flush_secs: float = 120, filename_suffix: str = "") -> None:
        self._logdir = logdir
        os.makedirs(logdir, exist_ok=True)
        name = "events.out.tfevents.%010d.%s.%s.%s" % (time.time(), socket.gethostname(), os.getpid(),
                                                       _global_uid.get())  # TensorBoard's counter: unique names
        self.path = os.path.join(logdir, name + filename_suffix)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self._buf: list[bytes] = []
        self._buffered = 0
        self._lock = threading.Lock()  # the buffer and the file
        self._pending = threading.Event()  # set while buffered data awaits the flush thread
        self._soon = threading.Event()  # set by close(): cut the flush thread's wait short
        self._closing = threading.Event()
        self._error: BaseException | None = None
        self._interval = max(0.0, min(float(flush_secs), FLUSH_INTERVAL_S))
        self._thread = threading.Thread(target=self._run, name="greenops-event-file", daemon=True)
        self._thread.start()
        self.add_event(event_pb2.Event(
            wall_time=time.time(), file_version="brain.Event:2",
            source_metadata=event_pb2.SourceMetadata(writer="greenops_tb.sinks.event_file"),
        ))
        self.flush()

    def get_logdir(self) -> str:
        return self._logdir

    def add_event(self, event: event_pb2.Event) -> None:
        if not isinstance(event, event_pb2.Event):
            raise UsageTypeError(f"Expected an event_pb2.Event proto, but got {type(event)}")
        self.write(event.SerializeToString())

    def write(self, data: bytes) -> None:
        """Append one serialised ``Event``."""
        record = frame(data)
        if self._error is not None:  # checked outside the lock too: a forked child may never get it
            raise self._error
        with self._lock:
            self._check()
            self._append(record)
        if not self._pending.is_set():
            self._pending.set()

    def write_now(self, events: list[bytes]) -> None:
        """Append serialised ``Event``s and write the buffer to the file in the calling thread (a batch of
        records: no wake-up of the flush thread)."""
        parts: list[bytes] = []
        for data in events:
            parts += frame_parts(data)  # written as they are (see appends): never copied
        if self._error is not None:
            raise self._error
        with self._lock:
            self._check()
            self._buf += parts
            self._write_out()

    def flush(self) -> None:
        self._check()
        with self._lock:
            self._write_out()

    def close(self) -> None:
        if self._closing.is_set():
            return
        self._closing.set()
        self._soon.set()
        self._pending.set()
        self._thread.join()
        with self._lock:
            try:
                self._write_out()
            finally:
                os.close(self._fd)
                self._fd = -1

    def discard(self) -> None:
        """Close and remove the file (a writer whose construction failed)."""
        self.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    def disown(self, error: BaseException) -> None:
        """In a forked child: never write the parent's file (buffered events are the parent's to write);
        every later call raises ``error``. Takes no lock (one may have been held at the fork)."""
        self._error = error
        self._buf = []
        self._buffered = 0

    # -- internals ------------------------------------------------------------------
    def _check(self) -> None:
        if self._error is not None:
            raise self._error
        if self._fd < 0:
            raise OSError("Writer is closed")

    def _append(self, record: bytes) -> None:
        """Buffer one framed record (caller holds the lock)."""
        self._buf.append(record)
        self._buffered += len(record)
        if self._buffered >= BUFFER_BYTES:
            self._write_out()

    def _write_out(self) -> None:
        """Write the buffer to the file (caller holds the lock)."""
        if not self._buf:
            return
        parts, self._buf, self._buffered = self._buf, [], 0
        append_all(self._fd, parts)

    def _run(self) -> None:
        while not self._closing.is_set():  # checked here too: close() may come just before the clears below
            self._pending.wait()
            self._soon.wait(self._interval)
            if self._closing.wait(WAKE_BATCH_S):
                return  # close() writes what is left
            self._soon.clear()  # before writing: whatever comes later sets them again
            self._pending.clear()
            try:
                with self._lock:
                    self._write_out()
            except Exception as err:  # noqa: BLE001 - raised to the writer's next call
                self._error = err
                return


class FastFileWriter(FileWriter):
    """torch's ``FileWriter`` (``add_summary``, ``add_event``, graphs) over an :class:`EventFile`."""

    def __init__(self, log_dir: str, max_queue: int = 10, flush_secs: float = 120, filename_suffix: str = "") -> None:
        # no super().__init__(): it would open TensorBoard's EventFileWriter; max_queue has no
        # meaning here (nothing waits in a queue for a thread)
        self.event_writer = EventFile(str(log_dir), flush_secs, filename_suffix)
