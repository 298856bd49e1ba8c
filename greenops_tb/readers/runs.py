"""Finding green runs (for the CLI and :mod:`greenops_tb.api`): logdirs, run directories, live CSVs, and a progress line.

Every command reads records through :func:`greenops_tb.readers.events.read_runs`
(the plugin's reading code) over a TensorBoard data provider:

* ``server``: TensorBoard's Rust data server (its default loader), fully loaded once;
* ``python``: TensorBoard's Python ingester (:func:`greenops_tb.readers.events.local_provider`);
* ``auto``: ``server`` when the binary is installed, else ``python``.

Problems with the input raise :class:`~greenops_tb.errors.InputError`, whose message says what to do
(commands turn it into exit code 2; the API into a UsageError).
"""
from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, TextIO

from greenops_tb.errors import InputError as InputError
from greenops_tb.format.schema import Record
from greenops_tb.readers.events import RunData, green_listing, read_runs

LOADERS = ("auto", "server", "python")
EXPERIMENT = ""  # a local logdir has one unnamed experiment
#: :meth:`Logdir.read_all` reads runs in batches of about this many records (one provider call each),
#: so many small runs cost a few calls and memory stays bounded for large runs
BATCH_RECORDS = 20_000
BATCH_RUNS = 500


def event_files(path: Path) -> list[Path]:
    """TensorBoard event files under ``path`` (recursively)."""
    return sorted(p for p in path.rglob("*tfevents*") if p.is_file())


def check_logdir(path: str | os.PathLike[str]) -> Path:
    """``path`` as a logdir that holds event files, else :class:`InputError`."""
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"{p}: no such directory; pass the log_dir your GreenSummaryWriter wrote to")
    if not p.is_dir():
        raise InputError(f"{p}: not a directory; pass a logdir (a live CSV goes to `greenops-tb verify` or `compare`)")
    if not event_files(p):
        raise InputError(f"{p}: no TensorBoard event files (events.out.tfevents.*) here or below; is this the right logdir?")
    return p


@dataclass
class Logdir:
    """An open logdir: its green runs and their records, read through one data provider."""

    path: Path
    provider: Any
    runs: list[str]
    listing: dict[str, Any] = field(default_factory=dict)  # run -> {green tag: time series metadata}

    def read(self, run: str) -> RunData:
        from tensorboard.context import RequestContext

        data = read_runs(self.provider, RequestContext(), EXPERIMENT, runs=[run], listing=self.listing or None)
        if run not in data:
            raise InputError(f"{self.path}: run {run!r} has no green data")
        return data[run]

    def read_all(self, runs: list[str]) -> Iterator[RunData]:
        """``runs`` in order, read in batches of about BATCH_RECORDS records (one provider call per batch)."""
        from tensorboard.context import RequestContext

        for batch in self._batches(runs):
            data = read_runs(self.provider, RequestContext(), EXPERIMENT, runs=batch, listing=self.listing)
            for run in batch:
                if run not in data:
                    raise InputError(f"{self.path}: run {run!r} has no green data")
                yield data[run]

    def _batches(self, runs: list[str]) -> Iterator[list[str]]:
        batch: list[str] = []
        size = 0
        for run in runs:
            # a run's record count is about its tags' steps (records of one tag have distinct steps)
            n = sum(int(getattr(ts, "max_step", 0)) + 1 for ts in self.listing.get(run, {}).values())
            if batch and (size + n > BATCH_RECORDS or len(batch) >= BATCH_RUNS):
                yield batch
                batch, size = [], 0
            batch.append(run)
            size += n
        if batch:
            yield batch

    def select(self, pattern: str | None) -> list[str]:
        """Runs matching a shell-style ``pattern`` (all when None); InputError when none match."""
        if pattern is None:
            return list(self.runs)
        chosen = [r for r in self.runs if fnmatch.fnmatchcase(r, pattern)]
        if not chosen:
            raise InputError(f"no run matches {pattern!r}; runs with green data: {', '.join(self.runs)}")
        return chosen


@contextlib.contextmanager
def _provider(path: Path, loader: str) -> Iterator[Any]:
    from greenops_tb.readers import data_server
    from greenops_tb.readers.events import local_provider

    if loader not in LOADERS:
        raise InputError(f"unknown loader {loader!r}; choose one of {', '.join(LOADERS)}")
    if loader == "server" or (loader == "auto" and data_server.available()):
        try:
            with data_server.server_provider(path) as provider:
                yield provider
        except data_server.DataServerError as err:
            raise InputError(str(err)) from err
    else:
        yield local_provider(str(path))


@contextlib.contextmanager
def open_logdir(path: str | os.PathLike[str], loader: str = "auto") -> Iterator[Logdir]:
    """Open a logdir for reading; InputError for a bad path, no event files or no green data."""
    from tensorboard.context import RequestContext

    p = check_logdir(path)
    with _provider(p, loader) as provider:
        listing = green_listing(provider, RequestContext(), EXPERIMENT)
        runs = sorted(listing)
        if not runs:
            raise InputError(
                f"{p}: event files found but no green data in them (written by GreenSummaryWriter?); "
                "they may also be corrupt or empty"
            )
        yield Logdir(p, provider, runs, listing)


def read_csv_records(path: Path) -> tuple[list[Record], int]:
    """Records of a live CSV (torn last line ignored) and how many malformed rows were skipped;
    InputError when unreadable."""
    from greenops_tb.readers.csv import read_records_counted

    try:
        records, skipped, _ = read_records_counted(path)
    except (OSError, ValueError, KeyError) as err:
        raise InputError(f"{path}: not a readable green CSV ({err})") from err
    if not records:
        raise InputError(f"{path}: the CSV holds no records" + (f" ({skipped} malformed rows)" if skipped else ""))
    return records, skipped


def report_malformed(data: RunData, label: str | None = None, stream: TextIO | None = None) -> None:
    """Tell the CLI's user that records of ``data`` were skipped (one line on stderr), if any were."""
    if data.malformed:
        print(f"{label or data.run}: {data.malformed} malformed records skipped", file=stream or sys.stderr)


def load_run(arg: str, loader: str = "auto") -> RunData:
    """A run given by path: a run directory, a logdir with one green run, or a live CSV.

    The returned ``RunData.run`` is a label for tables (the path as given, or ``dir/run``).
    """
    p = Path(arg).expanduser()
    if p.is_file() and p.suffix.lower() == ".csv":
        records, skipped = read_csv_records(p)
        return RunData(run=arg, metadata=None, records=records, malformed=skipped)
    if p.is_file():
        raise InputError(f"{p}: pass a run directory or a live CSV (.csv), not this file")
    with open_logdir(p, loader) as logdir:
        if len(logdir.runs) > 1:
            examples = ", ".join(str(p / r) for r in logdir.runs[:3])
            raise InputError(f"{p} holds {len(logdir.runs)} runs; pass one run directory, e.g. {examples}")
        run = logdir.runs[0]
        data = logdir.read(run)
        return dataclasses.replace(data, run=arg if run == "." else f"{arg}/{run}")


class Progress:
    """A one-line progress display on stderr, shown only when stderr is a terminal."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None, min_interval_s: float = 0.1) -> None:
        self.total = total
        self.label = label
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._min_interval = min_interval_s
        self._last = 0.0
        self._start = time.monotonic()

    def update(self, n: int = 1, note: str = "") -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and (now - self._last >= self._min_interval or self.done >= self.total):
            self._last = now
            pct = 100.0 * self.done / self.total if self.total else 100.0
            self.stream.write(f"\r{self.label}: {self.done}/{self.total} ({pct:.0f}%) {note}\x1b[K")
            self.stream.flush()

    def close(self, summary: str = "") -> None:
        if self.enabled:
            elapsed = time.monotonic() - self._start
            self.stream.write(f"\r{self.label}: {self.done}/{self.total} in {elapsed:.1f} s {summary}\x1b[K\n")
            self.stream.flush()
