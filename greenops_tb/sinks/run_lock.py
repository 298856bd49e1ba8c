"""One writer per run: an exclusive ``flock`` on a lock file in the log dir, held by an open descriptor.

The kernel drops the lock when its process dies (``kill -9`` included), so a lock is never stale: a lock
file left behind by a killed process is simply taken over by the next writer. A CSV outside the log dir
(``csv_path=``) is locked too, by ``.<name>.lock`` beside it, so two log dirs cannot share one CSV. Taking
the lock:

* in the process that holds it already (a notebook cell re-run without ``close()``), the previous writer is
  closed first (its ``close()``: its open stages are recorded), with one warning; then this writer locks;
* in another process, :class:`~greenops_tb.errors.RunInUseError` names the holder (pid, host, when it
  started, from the lock file) and says what to do.

A forked child closes its copies of the descriptors without unlocking, so the lock still goes with its
holder. Remote log dirs (``s3://``...) are not locked.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
import warnings
import weakref
from typing import Protocol

from greenops_tb.errors import RunInUseError

LOCK_NAME = ".greenops_tb.lock"
UNKNOWN_HOLDER = "another process (it has not written its name yet)"
#: how long a refused writer waits for the holder's name (written just after its lock; a loaded machine delays it)
HOLDER_WAIT_S = 2.0
#: lock file path -> the lock this process holds there
_HELD: dict[str, "RunLock"] = {}


class Closable(Protocol):
    def close(self) -> None: ...


class RunLock:
    """Held lock files of one run; :meth:`release` (or the process's death) gives them back."""

    def __init__(self, owner: Closable | None) -> None:
        self.files: dict[str, int] = {}  # lock file path -> its locked descriptor
        self._owner = weakref.ref(owner) if owner is not None else None

    @property
    def held(self) -> bool:
        return bool(self.files)

    def release(self) -> None:
        """Unlock, remove the lock files (still ours: nobody can lock a file while we do) and close them."""
        for path, fd in list(self.files.items()):
            if _HELD.get(path) is self:
                del _HELD[path]
            with contextlib.suppress(OSError):
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    os.unlink(path)
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)  # for every copy of the descriptor (forked children's too)
            os.close(fd)
            del self.files[path]

    def _forget(self) -> None:
        """In a forked child: close this copy of the descriptors, leaving the parent's lock in place."""
        for fd in self.files.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self.files.clear()

    def _take(self, path: str, what: str) -> None:
        """Lock ``path`` (the lock file of ``what``) or raise RunInUseError naming its holder."""
        with contextlib.suppress(OSError):
            os.makedirs(os.path.dirname(path), exist_ok=True)  # a CSV's folder, made by its sink anyway
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError:
                return  # a folder nothing can be written to: the sink's own error says so
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                who = _holder_within(fd, HOLDER_WAIT_S)
                os.close(fd)
                raise RunInUseError(
                    f"{what} is being written by another GreenSummaryWriter: {who}. Two writers on one run would "
                    "interleave its records; pass another log_dir= (or csv_path=), or wait until that process "
                    f"closes its writer or exits (the lock, {path}, is released then, even if it is killed)") from None
            except OSError as err:  # a file system without locks: record anyway, say what is not protected
                os.close(fd)
                warnings.warn(f"greenops_tb: cannot lock {path} ({err.strerror or err}); a second writer on {what} "
                              "would not be detected", RuntimeWarning, stacklevel=5)
                return
            with contextlib.suppress(OSError):
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    break  # not a file its previous holder removed between our open and our lock
            os.close(fd)
        info = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, info, 0)
        self.files[path] = fd
        _HELD[path] = self


def _forget_in_child() -> None:
    for lock in set(_HELD.values()):
        lock._forget()
    _HELD.clear()


os.register_at_fork(after_in_child=_forget_in_child)


def holder(fd: int) -> str:
    """Who holds the lock, from the lock file's text (written when it was taken)."""
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        started = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(float(info["started"])))
        return f"process {int(info['pid'])} on host {info['host']!r} (started {started})"
    except (OSError, ValueError, KeyError, TypeError):
        return UNKNOWN_HOLDER


def _holder_within(fd: int, wait_s: float) -> str:
    """:func:`holder`, waiting up to ``wait_s`` for a holder that locked the file but has not written its name."""
    deadline = time.monotonic() + wait_s
    while (who := holder(fd)) == UNKNOWN_HOLDER and time.monotonic() < deadline:
        time.sleep(0.02)
    return who


def _lock_files(log_dir: str, csv_path: str | None, shard: str = "") -> dict[str, str]:
    """Lock file path -> what it protects: the log dir's (unless remote; a rank's shard of it), and one beside a
    CSV outside it."""
    out: dict[str, str] = {}
    if "://" not in log_dir:
        name = LOCK_NAME.replace(".lock", f"{shard}.lock")
        out[os.path.realpath(os.path.join(log_dir, name))] = repr(log_dir) + (f" (shard {shard[1:]})" if shard else "")
    if csv_path is not None:
        head, name = os.path.split(os.path.realpath(csv_path))
        if "://" in log_dir or head != os.path.realpath(log_dir):
            out[os.path.join(head, f".{name}.lock")] = f"the CSV {csv_path!r}"
    return out


def acquire(log_dir: str, owner: Closable | None = None, csv_path: str | None = None,
            shard: str = "") -> RunLock | None:
    """Lock the run at ``log_dir`` (and its CSV at ``csv_path``, when elsewhere) for ``owner``, closed when a
    later writer in this process takes the run over; ``shard`` (a rank's ``.rank<k>``) locks that rank's shard
    of a distributed job only. None when there is nothing to lock; RunInUseError when another process holds it."""
    files = _lock_files(log_dir, csv_path, shard)
    if not files:
        return None
    for previous in {_HELD[p] for p in files if p in _HELD}:
        warnings.warn(
            f"greenops_tb: a GreenSummaryWriter on {log_dir!r} was still open in this process; it was closed (its "
            "open stages recorded) and the new writer continues the run. Call close() or use `with "
            "GreenSummaryWriter(...) as w:` so a re-run cell does not leave the previous writer open",
            RuntimeWarning, stacklevel=4)
        writer = previous._owner() if previous._owner is not None else None
        if writer is not None:
            writer.close()
        previous.release()  # when the previous writer is gone without close(), or its close() failed
    lock = RunLock(owner)
    try:
        for path, what in files.items():
            lock._take(path, what)
    except BaseException:
        lock.release()
        raise
    if owner is not None:  # a writer dropped without close() gives the run back when it is collected
        weakref.finalize(owner, lock.release).atexit = False
    return lock
