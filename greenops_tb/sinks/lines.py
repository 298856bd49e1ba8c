"""The lines of a green CSV read from either end in bounded chunks: any line length, any bytes.

A row is one line (the CSV sink never writes raw line breaks inside a row), so a line that is not
UTF-8 text or not one CSV row is one bad row: :func:`parse_row` raises ValueError for it, and callers
skip and count it. No cell size limit applies (the writer's cells have none).
"""
from __future__ import annotations

import csv
import os
from typing import Iterator

from greenops_tb.format.csvtext import cells

CHUNK = 1 << 16


def first_line(fd: int, size: int) -> bytes | None:
    """The file's first line, without its newline; None when it has none (a header torn by a crash)."""
    buf = bytearray()
    pos = 0
    while pos < size:
        data = os.pread(fd, min(CHUNK, size - pos), pos)
        if not data:
            break
        i = data.find(b"\n")
        if i >= 0:
            return bytes(buf + data[:i])
        buf += data
        pos += len(data)
    return None


def complete_end(fd: int, size: int) -> int:
    """The offset just after the file's last newline (0 when it has none)."""
    pos = size
    while pos > 0:
        start = max(0, pos - CHUNK)
        i = os.pread(fd, pos - start, start).rfind(b"\n")
        if i >= 0:
            return start + i + 1
        pos = start
    return 0


def lines_backward(fd: int, end: int, stop: int = 0) -> Iterator[tuple[int, bytes]]:
    """(offset, line without its newline) of every line in ``[stop, end)``, last first; ``end`` is just
    after a newline and ``stop`` at a line's start."""
    cstart, chunk = end, b""  # the bytes last read, from cstart

    def rfind(lo: int, hi: int) -> int:
        nonlocal cstart, chunk
        while hi > lo:
            if not cstart < hi <= cstart + len(chunk):
                cstart = max(lo, hi - CHUNK)
                chunk = os.pread(fd, hi - cstart, cstart)
            i = chunk.rfind(b"\n", max(lo - cstart, 0), hi - cstart)
            if i >= 0:
                return cstart + i
            hi = max(lo, cstart)
        return -1

    nl = end - 1  # the newline that ends the current line
    while nl >= stop:
        p = rfind(stop, nl)
        start = p + 1 if p >= 0 else stop
        inside = cstart <= start and nl <= cstart + len(chunk)
        line = chunk[start - cstart:nl - cstart] if inside else os.pread(fd, nl - start, start)
        yield start, line
        nl = p


def lines_forward(fd: int, start: int, end: int) -> Iterator[tuple[int, bytes]]:
    """(offset, line without its newline) of every complete line in ``[start, end)``, first first."""
    rest, at, pos = b"", start, start
    while pos < end:
        data = rest + os.pread(fd, min(CHUNK * 16, end - pos), pos)
        pos += len(data) - len(rest)
        if len(data) == len(rest):
            break
        lines = data.split(b"\n")
        rest = lines.pop()
        for line in lines:
            yield at, line
            at += len(line) + 1


def parse_row(line: bytes, errors: str = "strict") -> list[str]:
    """The cells of one CSV line; ValueError when it is not UTF-8 text (``errors="replace"``: U+FFFD for
    what is not) or not one row."""
    try:
        rows = list(cells([line.decode("utf-8", errors).rstrip("\r")]))  # no cell size limit
    except UnicodeDecodeError as err:
        raise ValueError(f"not UTF-8 text (byte {err.start})") from None
    except csv.Error as err:
        raise ValueError(f"not a CSV row ({err})") from None
    if len(rows) != 1:
        raise ValueError("an empty line")
    return rows[0]
