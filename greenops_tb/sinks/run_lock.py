"""One writer per run: an exclusive ``flock`` on a lock file in the log dir, held by an open descriptor.

The kernel drops the lock when its process dies (``kill -9`` included), so a lock is never stale: a lock
file left behind by a killed process is simply taken over by the next writer. Taking the lock:

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
#: lock file path -> the lock this process holds there
_HELD: dict[str, "RunLock"] = {}


class Closable(Protocol):
    def close(self) -> None: ...


class RunLock:
    """A held lock on one run; :meth:`release` (or the process's death) gives it back."""

    def __init__(self, path: str, fd: int, owner: Closable | None) -> None:
        self.path, self._fd = path, fd
        self._owner = weakref.ref(owner) if owner is not None else None

    @property
    def held(self) -> bool:
        return self._fd >= 0

    def release(self) -> None:
        """Unlock, remove the lock file (it is still ours: nobody can lock a file while we do) and close."""
        if self._fd < 0:
            return
        if _HELD.get(self.path) is self:
            del _HELD[self.path]
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino == os.fstat(self._fd).st_ino:
                os.unlink(self.path)
        with contextlib.suppress(OSError):
            fcntl.flock(self._fd, fcntl.LOCK_UN)  # for every copy of the descriptor (forked children's too)
        os.close(self._fd)
        self._fd = -1

    def _forget(self) -> None:
        """In a forked child: close this copy of the descriptor, leaving the parent's lock in place."""
        with contextlib.suppress(OSError):
            os.close(self._fd)
        self._fd = -1


def _forget_in_child() -> None:
    for lock in list(_HELD.values()):
        lock._forget()
    _HELD.clear()


os.register_at_fork(after_in_child=_forget_in_child)


def holder(fd: int) -> str:
    """Who holds the lock, from the lock file's text (written by :func:`acquire`)."""
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        started = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(float(info["started"])))
        return f"process {int(info['pid'])} on host {info['host']!r} (started {started})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process (it has not written its name yet)"


def acquire(log_dir: str, owner: Closable | None = None) -> RunLock | None:
    """Lock the run at ``log_dir`` for ``owner`` (closed when a later writer in this process takes the run
    over). None for a remote log dir; RunInUseError when another process holds it."""
    if "://" in log_dir:
        return None
    path = os.path.realpath(os.path.join(log_dir, LOCK_NAME))
    previous = _HELD.get(path)
    if previous is not None:
        warnings.warn(
            f"greenops_tb: a GreenSummaryWriter on {log_dir!r} was still open in this process; it was closed (its "
            "open stages recorded) and the new writer continues the run. Call close() or use `with "
            "GreenSummaryWriter(...) as w:` so a re-run cell does not leave the previous writer open",
            RuntimeWarning, stacklevel=4)
        owner = previous._owner() if previous._owner is not None else None
        if owner is not None:
            owner.close()
        previous.release()  # when the previous writer is gone without close(), or its close() failed
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = holder(fd)
            os.close(fd)
            raise RunInUseError(
                f"{log_dir!r} is being written by another GreenSummaryWriter: {who}. Two writers on one run "
                "would interleave its records; pass another log_dir= (or csv_path=), or wait until that process "
                f"closes its writer or exits (the lock, {path}, is released then, even if it is killed)") from None
        with contextlib.suppress(OSError):
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                break  # not a file its previous holder removed between our open and our lock
        os.close(fd)
    info = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, info, 0)
    lock = RunLock(path, fd, owner)
    _HELD[path] = lock
    if owner is not None:  # a writer dropped without close() gives the run back when it is collected
        weakref.finalize(owner, lock.release).atexit = False
    return lock
