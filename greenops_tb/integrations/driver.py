"""What both framework callbacks share: a lazily created writer and forgiving stage calls.

Framework hooks do not always pair up (an exception between ``*_start`` and
``*_end``, a validation loop with no batches), so :class:`StageDriver` starts a
stage only if it is not running and stops it only if it is, instead of raising
in the middle of someone's training.

The writer is created on EVERY process: in distributed runs each writes its own rank shard into the same
directory, read as one run (see :mod:`greenops_tb.distributed`); the frameworks' own ``add_*`` calls are
written by global rank 0, their rank-zero logging convention.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Mapping

from greenops_tb.writer import GreenSummaryWriter


def default_run_name(log_dir: str) -> str:
    """The run's name as TensorBoard shows it when started on the folder above the run.

    The callbacks' default ``<output_dir>/green`` (``runs/hf/green``) is ``hf/green`` in ``tensorboard --logdir
    runs`` and ``greenops-tb summary runs``, so the writer (``print(writer)``, the records, the CSV) says
    ``hf/green`` too; any other log dir is named by its base name, like a plain GreenSummaryWriter's.
    """
    path = os.path.normpath(os.path.abspath(log_dir))
    name = os.path.basename(path)
    return f"{os.path.basename(os.path.dirname(path))}/{name}" if name == "green" else name


class StageDriver:
    """Owns (or borrows) a GreenSummaryWriter and maps hook calls to stage calls."""

    def __init__(self, writer: GreenSummaryWriter | None, writer_kwargs: Mapping[str, Any]) -> None:
        self.writer = writer
        self._owned = writer is None
        self._kwargs = dict(writer_kwargs)
        self._watch: dict[str, Callable[[], float]] = {}

    def ensure_writer(self, log_dir: str, run_name: str | None = None) -> GreenSummaryWriter:
        """The writer, created on first use in ``log_dir`` (ignored when the user gave a writer).

        ``run_name`` is the default name of the run (the user's ``run_name=`` wins).
        """
        if self.writer is None:
            kwargs = {"run_name": run_name, **self._kwargs}
            self.writer = GreenSummaryWriter(log_dir=log_dir, **kwargs)
            self._owned = True
        for name, getter in self._watch.items():
            self.writer.watch(name, getter)
        self._watch.clear()
        return self.writer

    def watch(self, name: str, getter: Callable[[], float]) -> None:
        """Watch ``getter`` once the writer exists."""
        self._watch[name] = getter

    def running(self, name: str) -> bool:
        return self._running(name) is not None

    def _running(self, name: str) -> GreenSummaryWriter | None:
        """The writer, when stage ``name`` is running in it."""
        w = self.writer
        return w if w is not None and name in w.open_stages() else None

    def start(self, name: str, *, epoch: int | None = None) -> None:
        if self.writer is not None and not self.running(name):
            self.writer.start(name, epoch=epoch)

    def update(self, name: str, *, step: int | None = None) -> None:
        if (w := self._running(name)) is not None:
            w.update(name, step=step)

    def stop(self, name: str, *, step: int | None = None) -> None:
        if (w := self._running(name)) is not None:
            w.stop(name, step=step)

    def count(self, names: tuple[str, ...], *, samples: int | None = None, tokens: int | None = None) -> None:
        """Work units into each of ``names`` that is running."""
        for name in names:
            if (w := self._running(name)) is not None:
                w.count(name, samples=samples, tokens=tokens)

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        """Stop open stages and close the writer if this driver created it (a borrowed one is left open)."""
        if self.writer is not None and self._owned:
            self.writer.close()
