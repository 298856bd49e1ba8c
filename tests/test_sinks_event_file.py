"""GreenSummaryWriter's own event file: TensorBoard reads it (checksums verified), flush timing, record order."""
from __future__ import annotations

import glob
import os
import struct
import time

import numpy as np

from tensorboard import context
from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as tb_masked_crc32c
from tensorboard.summary.writer import record_writer
from torch.utils.tensorboard import SummaryWriter

from greenops_tb.readers.events import local_provider, read_runs
from greenops_tb.sinks import event_file
from greenops_tb.sinks.event_file import BUFFER_BYTES, FLUSH_INTERVAL_S, FastFileWriter
from conftest import constant_writer


def _frames(path: str) -> list[bytes]:
    """Event payloads, each checked against TensorBoard's own (pure Python) masked CRC-32C."""
    data = open(path, "rb").read()
    out, pos = [], 0
    while pos < len(data):
        header = data[pos:pos + 8]
        (n,) = struct.unpack("<Q", header)
        assert struct.unpack("<I", data[pos + 8:pos + 12])[0] == tb_masked_crc32c(header)
        payload = data[pos + 12:pos + 12 + n]
        assert struct.unpack("<I", data[pos + 12 + n:pos + 16 + n])[0] == tb_masked_crc32c(payload)
        out.append(payload)
        pos += 16 + n
    return out


def _event_file(run_dir) -> str:
    (path,) = glob.glob(os.path.join(str(run_dir), "events.out.tfevents.*"))
    return path


def test_checksums_equal_tensorboards_and_other_writers_are_untouched(tmp_path):
    for n in (0, 1, 8, 12, 1761, 5000):
        data = os.urandom(n)
        assert event_file.masked_crc32c(data) == tb_masked_crc32c(data)
    w = constant_writer(tmp_path / "green")
    plain = SummaryWriter(str(tmp_path / "plain"))
    assert isinstance(w.file_writer, FastFileWriter)
    assert not isinstance(plain.file_writer, FastFileWriter)
    assert record_writer.masked_crc32c is tb_masked_crc32c  # no process-wide patch
    plain.close()
    w.close()


def test_users_own_calls_read_back_by_tensorboard(tmp_path):
    run = tmp_path / "logs" / "run"
    w = constant_writer(run, purge_step=5)
    w.start("train")
    for step in range(50):
        w.add_scalar("loss", 1.0 / (step + 1), step)
        w.add_scalars("pair", {"a": step, "b": -step}, step)  # separate files, TensorBoard's writer
        w.update("train", step=step)
    w.add_text("note", "hello", 3)
    w.add_histogram("h", np.array([1.0, 2.0, 2.0, 3.0]), 4)
    w.stop("train")
    w.close()
    events = [event_pb2.Event.FromString(p) for p in _frames(_event_file(run))]
    assert events[0].file_version == "brain.Event:2"
    assert any(e.session_log.status == event_pb2.SessionLog.START and e.step == 5 for e in events)
    # TensorBoard's loader (checks every CRC) reads the same number of events
    assert len(list(RawEventFileLoader(_event_file(run)).Load())) == len(events)
    provider = local_provider(str(tmp_path / "logs"))
    ctx = context.RequestContext()
    scalars = provider.read_scalars(ctx, experiment_id="", plugin_name="scalars", downsample=10**6)
    loss = scalars["run"]["loss"]
    assert [d.step for d in loss] == list(range(50))
    assert [d.value for d in loss] == [float(struct.unpack("<f", struct.pack("<f", 1.0 / (s + 1)))[0])
                                       for s in range(50)]
    recs = read_runs(provider, ctx, "")["run"].records
    assert [r.seq for r in recs if r.stage == "train"][-1] == 49  # the stop() extends update(step=49), complete
    texts = provider.list_tensors(ctx, experiment_id="", plugin_name="text")
    assert "note/text_summary" in texts["run"]


def test_events_reach_the_file_without_an_explicit_flush(tmp_path):
    w = constant_writer(tmp_path / "run")
    path = _event_file(tmp_path / "run")
    w.start("train")
    w.update("train")  # buffered, written by the flush thread
    w.add_scalar("loss", 0.5, 1)  # written to the buffer at once
    before = len(_frames(path))
    deadline = time.monotonic() + FLUSH_INTERVAL_S + 5.0
    tags: set[str] = set()
    while time.monotonic() < deadline and not {"loss", "green/train/record"} <= tags:
        time.sleep(0.05)
        tags = {v.tag for p in _frames(path) for v in event_pb2.Event.FromString(p).summary.value}
    assert {"loss", "green/train/record"} <= tags and len(_frames(path)) > before
    w.flush()
    frames = len(_frames(path))
    t0 = time.monotonic()
    w.stop("train")  # written by stop() itself: on the file when it returns, not an interval later
    while len(_frames(path)) == frames and time.monotonic() - t0 < 5.0:
        time.sleep(0.002)
    waited = time.monotonic() - t0
    assert waited < 0.5, f"the stop() record took {waited:.3f} s to reach the file"
    last = event_pb2.Event.FromString(_frames(path)[-1])
    assert last.summary.value[0].tag == "green/train/record" and last.step == 1
    w.close()


def test_close_arriving_while_the_flush_thread_clears_its_signals_still_ends_it(tmp_path):
    ew = event_file.EventFile(str(tmp_path))
    clear = ew._soon.clear

    def close_signals_then_clear() -> None:  # close() sets its signals at the worst moment
        ew._closing.set()
        ew._soon.set()
        ew._pending.set()
        clear()

    ew._soon.clear = close_signals_then_clear
    ew._soon.set()  # the flush thread's wait cut short, as close() cuts it
    ew._pending.set()
    ew._thread.join(timeout=5)
    alive = ew._thread.is_alive()
    os.close(ew._fd)
    assert not alive, "the flush thread missed close() and would hang it"


def test_buffered_records_stay_bounded_and_in_order(tmp_path):
    w = constant_writer(tmp_path / "run", flush_secs=3600)
    ew = w.file_writer.event_writer
    w.start("train")
    n = 2000  # about 3 buffers' worth: written as the buffer fills, not only at close
    most = 0
    for _ in range(n):
        w.update("train")
        most = max(most, ew._buffered)
    on_disk = os.path.getsize(_event_file(tmp_path / "run"))
    w.close()
    assert most < BUFFER_BYTES and on_disk > BUFFER_BYTES
    steps = [event_pb2.Event.FromString(p).step for p in _frames(_event_file(tmp_path / "run"))
             if event_pb2.Event.FromString(p).summary.value[:1]
             and event_pb2.Event.FromString(p).summary.value[0].tag == "green/train/record"]
    assert steps == list(range(n + 1))


def test_a_failing_event_file_warns_once_and_the_csv_keeps_every_record(tmp_path):
    w = constant_writer(tmp_path / "run")
    fd = w.file_writer.event_writer._fd
    full = os.open("/dev/full", os.O_WRONLY)  # a real device where every write fails (ENOSPC)
    os.dup2(full, fd)
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        w.start("train")
        for _ in range(3):
            w.update("train")
        w.stop("train")
        w.start("train")
        w.stop("train")
        w.close()  # the flush thread met the failure (or close() does): reported once, the CSV still closed
    failed = [c for c in caught if "writing the events failed" in str(c.message)]
    assert len(failed) == 1
    assert w._csv._fd < 0 and w._fw.event_writer._fd < 0  # both files closed
    os.close(full)
    from greenops_tb.readers.csv import read_records

    assert [r.seq for r in read_records(tmp_path / "run" / "green.csv")] == list(range(5))


def test_concurrent_writers_lose_nothing_and_records_keep_their_order(tmp_path):
    import threading

    w = constant_writer(tmp_path / "run", step_axis="stage")  # record steps = their order (not the threads' steps)
    w.start("train")

    def user(k: int) -> None:
        for i in range(300):
            w.add_scalar(f"t{k}", float(i), i)
            if i % 100 == 0:
                w.flush()

    threads = [threading.Thread(target=user, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for _ in range(1500):
        w.update("train")
    for t in threads:
        t.join()
    w.close()
    events = [event_pb2.Event.FromString(p) for p in _frames(_event_file(tmp_path / "run"))]
    by_tag: dict[str, list[int]] = {}
    for e in events:
        for v in e.summary.value[:1]:
            by_tag.setdefault(v.tag, []).append(e.step)
    for k in range(4):
        assert by_tag[f"t{k}"] == list(range(300))
    assert by_tag["green/train/record"] == list(range(1501))
