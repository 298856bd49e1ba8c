"""A FileWriter that writes nothing, for ranks other than 0 of a distributed job."""
from __future__ import annotations

from typing import Any


class NullFileWriter:
    """Stands in for TensorBoard's FileWriter on ranks other than 0: accepts everything, writes nothing."""

    def __init__(self, log_dir: str) -> None:
        self._log_dir = log_dir

    def get_logdir(self) -> str:
        return self._log_dir

    def add_event(self, *args: Any, **kwargs: Any) -> None:
        """Dropped: only rank 0 writes."""

    add_summary = add_graph = add_onnx_graph = add_event

    def flush(self) -> None:
        """Nothing buffered."""

    close = reopen = flush
