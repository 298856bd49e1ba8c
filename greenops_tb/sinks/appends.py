"""Appending a batch of pieces to a file: ``os.writev``, a bounded number of pieces at a time, with no
joined copy of the batch (a batch of thousands of records would otherwise be copied into one buffer of
megabytes, allocated and freed at every flush)."""
from __future__ import annotations

import os
from typing import Sequence

#: pieces per ``writev`` call (the system's IOV_MAX where it says)
PIECES = min(1024, os.sysconf("SC_IOV_MAX")) if hasattr(os, "sysconf") and "SC_IOV_MAX" in os.sysconf_names else 1024


def append_all(fd: int, pieces: Sequence[bytes]) -> None:
    """Write ``pieces`` in order, each whole (a short write is finished before the next call)."""
    for i in range(0, len(pieces), PIECES):
        chunk = pieces[i:i + PIECES]
        if hasattr(os, "writev"):
            done = os.writev(fd, chunk)
            if done == sum(map(len, chunk)):
                continue
        else:  # Windows has no writev
            done = 0
        rest = memoryview(b"".join(chunk))[done:]
        while rest:
            rest = rest[os.write(fd, rest):]
