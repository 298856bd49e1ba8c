"""Every error greenops_tb raises on purpose derives from :class:`GreenOpsError`.

Each also keeps the built-in base it always had (``ValueError``, ``RuntimeError``...), so code that caught
those goes on working; the classes stay importable from the modules that raised them before.
"""
from __future__ import annotations


class GreenOpsError(Exception):
    """Root of greenops_tb's errors: ``except GreenOpsError`` catches every one of them."""


class UsageError(GreenOpsError, ValueError):
    """A wrong option, argument or call order; the message names it and says what to pass instead."""


class UsageTypeError(GreenOpsError, TypeError):
    """An option or argument of the wrong type; the message names it and says what to pass instead."""


class StateError(GreenOpsError, RuntimeError):
    """A call the writer's state does not allow (a stage not running, a closed or forked writer)."""


class DataError(GreenOpsError, ValueError):
    """Data that is not what it must be (a corrupt embedded table, a grid dataset without a factor); the message
    says what to do (usually: reinstall greenops_tb)."""


class InputError(GreenOpsError):
    """Bad path or unreadable input (the CLI's exit code 2); the message says what to do."""


class NewerFormatError(GreenOpsError, RuntimeError):
    """Data written by a newer greenops_tb than this one (not a ValueError: readers that skip bad data
    must not skip this)."""

    def __init__(self, what: str, version: int) -> None:
        super().__init__(
            f"written by a newer greenops_tb ({what} {version}); upgrade greenops_tb: pip install -U greenops_tb"
        )
        self.version = version


class DataServerError(GreenOpsError, RuntimeError):
    """The Rust data server is missing, failed to start, or did not finish loading."""


class CounterGlitching(GreenOpsError, RuntimeError):
    """A counter keeps giving impossible values: the source should be replaced by its fallback."""


class LocationError(GreenOpsError, ValueError):
    """An unknown or data-less location; the message names it, suggests close matches and says what to do."""


class LiveError(GreenOpsError):
    """A failed live grid request; ``reason`` is short text for the fallback label."""

    def __init__(self, reason: str, *, status: int | None = None, retry_after_s: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after_s = retry_after_s


class RunInUseError(StateError):
    """Another process is writing this run (its log dir is locked); the message names it and says what to do."""


class ResumeError(GreenOpsError, ValueError):
    """An existing run that cannot be continued (its CSV lacks what resuming needs); the file is left unchanged."""
