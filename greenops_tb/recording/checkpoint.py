"""The resume checkpoint: a re-opened run's totals at a known end of its CSV, so re-opening reads O(1) rows.

``.<csv name>.resume.json`` beside the CSV holds a :class:`~greenops_tb.recording.resume.Resumed` and
where in the CSV it ends: the byte offset, and hashes of the header and of the last row it covers. It is
written (to a temporary file, then renamed) when a writer opens a run, every :data:`EVERY_S` while it
records (:class:`Periodic`) and when it closes. It is used only
when it still matches the CSV (same header, same last row at the same offset, the run's totals that row's,
every total finite and >= 0); otherwise the CSV's rows are read instead, and the warning says why.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import os
import time
import warnings
from typing import Any, Callable, Mapping

from greenops_tb.format.schema import Record
from greenops_tb.recording.resume import Resumed, Seed, check_seed, checked_record
from greenops_tb.sinks.lines import complete_end, first_line, lines_backward, parse_row

log = logging.getLogger(__name__)
VERSION = 1


def path_for(csv_path: str) -> str:
    head, name = os.path.split(os.path.abspath(csv_path))
    return os.path.join(head, f".{name}.resume.json")


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _last_row(fd: int, header: bytes, end: int) -> bytes:
    """The last row before ``end`` (b"" when there is none after the header)."""
    return next((line for _, line in lines_backward(fd, end, len(header) + 1)), b"")


def save(csv_path: str, state: Resumed) -> None:
    """Record that ``state`` covers every complete row of ``csv_path`` now; a failure is logged, never raised
    (the next opening reads the rows instead)."""
    target = path_for(csv_path)
    tmp = f"{target}.{os.getpid()}.tmp"
    try:
        with open(csv_path, "rb") as f:
            fd = f.fileno()
            size = os.fstat(fd).st_size
            header = first_line(fd, size)
            if header is None:
                return
            end = complete_end(fd, size)
            doc = {"version": VERSION, "offset": end, "header": _digest(header),
                   "last_row": _digest(_last_row(fd, header, end)), "resumed": dataclasses.asdict(state)}
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump(doc, out, separators=(",", ":"))
        os.replace(tmp, target)
    except (OSError, ValueError) as err:
        log.warning("greenops_tb: cannot write the resume checkpoint %s (%s); re-opening the run will read its rows",
                    target, err)
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _seed(d: Mapping[str, Any]) -> Seed:
    d = dict(d)
    d["footprint"] = tuple(d["footprint"])
    for name in ("by_kind", "mix", "by_device", "embodied_kg_by_device"):
        d[name] = {str(k): float(v) for k, v in d[name].items()}
    seed = Seed(**d)
    check_seed(seed)
    return seed


def _resumed(d: Mapping[str, Any]) -> Resumed:
    openings = [dict(o) for o in d["openings"]]
    if not all(isinstance(o.get("resume"), int) and isinstance(o.get("records"), int) for o in openings):
        raise ValueError("an opening without its number or records")
    return Resumed(int(d["index"]), {str(k): _seed(v) for k, v in d["stages"].items()}, _seed(d["run"]), openings)


def _check_against(state: Resumed, last: Record | None) -> None:
    """ValueError unless the run's totals are the last row's (the row the checkpoint says it ends with)."""
    if last is None:
        if state.run.records:
            raise ValueError("it counts records the CSV does not have")
        return
    for mine, theirs in ((state.run.kwh, last.run_energy_kwh), (state.run.co2, last.run_co2_kg),
                         (state.run.duration, last.run_duration_s)):
        if not math.isclose(mine, theirs, rel_tol=1e-9, abs_tol=1e-15):
            raise ValueError(f"its run totals differ from the last row's ({mine!r} != {theirs!r})")


def load(csv_path: str, fd: int, header: bytes, end: int, problems: list[str]) -> tuple[int, Resumed] | None:
    """(offset, totals up to it) from the checkpoint of ``csv_path`` (open as ``fd``, complete up to ``end``)
    when it matches the CSV; None without one, and a reason in ``problems`` when it does not match."""
    try:
        with open(path_for(csv_path), "rb") as f:
            doc = json.loads(f.read(min(os.fstat(f.fileno()).st_size, 1 << 26)))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        problems.append(f"its resume checkpoint cannot be read ({err}): every row was read instead")
        return None
    try:
        offset = doc["offset"]
        if doc["version"] != VERSION or not isinstance(offset, int) or not len(header) < offset <= end:
            raise ValueError("it is of another version, or ends beyond the CSV")
        last = _last_row(fd, header, offset)
        if doc["header"] != _digest(header) or doc["last_row"] != _digest(last):
            raise ValueError("the CSV was changed since it was written")
        state = _resumed(doc["resumed"])
        _check_against(state, checked_record(parse_row(last), parse_row(header)) if last else None)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        problems.append(f"its resume checkpoint does not match it ({err}): every row was read instead")
        return None
    return offset, state


#: how often a writer checkpoints while it records (seconds): a crash costs the next opening at most this much
#: of rows to read
EVERY_S = 60.0


class Periodic:
    """Calls ``save`` at the first call ``EVERY_S`` after the last checkpoint. The writer calls it after each batch
    of records is written, so a checkpoint ends exactly at the CSV's last row. A failing ``save`` warns once and is
    not tried again: the checkpoint is an optimisation, the CSV is what counts."""

    def __init__(self, save: Callable[[], None]) -> None:
        self._save: Callable[[], None] | None = save
        self._due = time.monotonic() + EVERY_S

    def __call__(self) -> None:
        if self._save is None or time.monotonic() < self._due:
            return
        try:
            self._save()
        except Exception as err:  # never into the user's training
            self._save = None
            warnings.warn(f"greenops_tb: cannot checkpoint the run's totals ({type(err).__name__}: {err}); "
                          "re-opening it will read its whole CSV", RuntimeWarning, stacklevel=2)
        self._due = time.monotonic() + EVERY_S
