"""The user's own step axis: the highest ``global_step`` of their ``add_*`` calls, the records' default step
(``step_axis="user"``, see :mod:`greenops_tb.recording.stages`)."""
from __future__ import annotations

import contextlib
from typing import Any


class UserSteps:
    """The file writer as the user's ``add_*`` calls reach it (``_get_file_writer()``): notes the highest
    ``global_step`` they pass, the records' default step axis; everything else goes to the file writer."""

    __slots__ = ("_fw", "highest")

    def __init__(self, fw: Any) -> None:
        self._fw = fw
        self.highest: int | None = None

    def _note(self, step: Any) -> None:
        if step is not None:
            with contextlib.suppress(TypeError, ValueError):
                s = int(step)
                if self.highest is None or s > self.highest:
                    self.highest = s

    def add_summary(self, summary: Any, global_step: Any = None, walltime: Any = None) -> None:
        self._note(global_step)
        self._fw.add_summary(summary, global_step, walltime)

    def add_event(self, event: Any, step: Any = None, walltime: Any = None) -> None:
        self._note(step)
        self._fw.add_event(event, step, walltime)

    def current(self) -> int | None:
        return self.highest

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fw, name)
