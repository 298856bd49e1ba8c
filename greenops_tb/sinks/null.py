"""A FileWriter that writes nothing: the user's own ``add_*`` calls on ranks other than 0 of a distributed job."""
from __future__ import annotations

from typing import Any


class NullFileWriter:
    """Stands in for TensorBoard's FileWriter for the user's calls on ranks other than 0: writes nothing."""

    def __init__(self, log_dir: str) -> None:
        self._log_dir = log_dir

    def get_logdir(self) -> str:
        return self._log_dir

    def add_event(self, *args: Any, **kwargs: Any) -> None:
        """Dropped: rank 0 writes the user's own data (this rank's green records reach its event file directly)."""

    add_summary = add_graph = add_onnx_graph = add_event

    def flush(self) -> None:
        """Nothing buffered."""

    close = reopen = flush
