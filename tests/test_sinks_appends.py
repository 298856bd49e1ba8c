"""Batches appended with ``os.writev``: every piece, in order, whole, however the calls fall."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from greenops_tb.sinks import appends
from greenops_tb.sinks.appends import PIECES, append_all


def _pieces(n: int) -> list[bytes]:
    return [f"{i:05d}:{'x' * (i % 7)}\n".encode() for i in range(n)]


def _append(path: Path, pieces: list[bytes]) -> bytes:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        append_all(fd, pieces)
    finally:
        os.close(fd)
    return path.read_bytes()


def test_more_pieces_than_one_call_takes_arrive_in_order(tmp_path: Path) -> None:
    pieces = _pieces(2 * PIECES + 3)
    assert _append(tmp_path / "f", pieces) == b"".join(pieces)


def test_short_writes_are_finished_before_the_next_piece(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.writev
    calls: list[int] = []

    def short(fd: int, buffers: list[bytes]) -> int:  # the kernel may write less than asked (a full disk, a signal)
        calls.append(len(buffers))
        return real(fd, buffers[: max(1, len(buffers) // 3)])

    monkeypatch.setattr(appends.os, "writev", short)
    pieces = _pieces(PIECES + 10)
    assert _append(tmp_path / "f", pieces) == b"".join(pieces)
    assert calls == [PIECES, 10]


def test_without_writev_the_pieces_are_joined_and_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(appends.os, "writev")  # Windows has none
    pieces = _pieces(PIECES + 1)
    assert _append(tmp_path / "f", pieces) == b"".join(pieces)
