"""Green CSV bytes as text and cells, whatever the file holds.

* :func:`cells` parses lines with the csv module with no field-size limit: the writer writes any
  cell (a long ``run_name``, a devices JSON of many devices), so every reader must read it back.
* :func:`decode` turns bytes into text, skipping (and counting) bytes that are not UTF-8, so one
  corrupt byte costs at most its row, never the file.
"""
from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from typing import Iterable, Iterator


def _unlimit() -> None:
    """Raise the csv module's field-size limit (131,072 characters by default) to the platform's largest."""
    if csv.field_size_limit() < sys.maxsize:
        try:
            csv.field_size_limit(sys.maxsize)
        except OverflowError:  # a C long of 32 bits (Windows)
            csv.field_size_limit(2**31 - 1)


def cells(lines: Iterable[str]) -> Iterator[list[str]]:
    """``csv.reader(lines)`` without a field-size limit."""
    _unlimit()
    return csv.reader(lines)


@dataclass(frozen=True, slots=True)
class Decoded:
    """Text of some bytes, and what was skipped to get it."""

    text: str
    skipped: int = 0  # bytes that are not UTF-8 and were left out
    first_line: int = 0  # 1-based line of the first one (0 when none)

    def note(self) -> str:
        """What was skipped, for a warning: how many bytes, and where the first was."""
        return (f"{self.skipped} undecodable byte{'s' if self.skipped != 1 else ''} (not UTF-8) skipped, "
                f"the first on line {self.first_line}")


def decode(data: bytes) -> Decoded:
    """``data`` as UTF-8 text; bytes that are not UTF-8 are skipped and counted."""
    try:
        return Decoded(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        text = data.decode("utf-8", "ignore")
        return Decoded(text, len(data) - len(text.encode("utf-8")), data.count(b"\n", 0, err.start) + 1)
