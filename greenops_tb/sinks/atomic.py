"""Whole-file writes that never leave a torn file: write beside it, then rename over it."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

from greenops_tb.errors import InputError


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (InputError naming the path when it cannot be written)."""
    tmp = path.with_name(f".{path.name}.partial")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(tmp, path)
    except OSError as err:
        raise InputError(f"cannot write {path}: {err.strerror or err}") from err
    finally:
        with contextlib.suppress(OSError):  # e.g. EROFS: the error above is the one to tell
            tmp.unlink(missing_ok=True)
