"""A grid whose intensity comes from a live provider, refreshed by a background thread.

``current()`` only reads the cached value, so it never blocks the training loop. Until the first
answer, and after any failure, the embedded value is used with a label saying why
(``embedded (live pending)``, ``embedded (live failed: HTTP 500)``); the first failure warns once.
HTTP 401/403 stops polling (the token will not fix itself). Any other failure (429, 5xx, timeouts, an
answer of the wrong shape or outside physical bounds) retries with exponential back-off: the refresh
interval, doubled per consecutive failure, capped at :data:`MAX_BACKOFF_S` (or the refresh interval when
that is longer). A 429's Retry-After is honoured within the same floor and cap, so 0, negative or
garbage values never make a tight loop. No exception ends the polling thread.
"""
from __future__ import annotations

import threading
import warnings
from typing import Callable

from greenops_tb.errors import UsageError
from greenops_tb.grid.live.http import LiveError
from greenops_tb.grid.static import StaticGrid
from greenops_tb.grid.types import GridProfile, Intensity

DEFAULT_REFRESH_S = 300.0
#: longest wait between two attempts after failures (unless the refresh interval is longer)
MAX_BACKOFF_S = 3600.0


class LiveGridWarning(UserWarning):
    """A live provider failed; the embedded value is used instead."""


class LiveGrid:
    """:class:`~greenops_tb.grid.types.Grid` backed by ``fetch`` (one provider request -> Intensity)."""

    def __init__(self, static: StaticGrid, fetch: Callable[[], Intensity], name: str, *,
                 refresh_s: float = DEFAULT_REFRESH_S, auth_hint: str = ""):
        if not refresh_s > 0:
            raise UsageError(f"refresh_s={refresh_s!r} must be > 0 seconds")
        self.profile: GridProfile = static.profile
        self.name = name
        self.refresh_s = float(refresh_s)
        self.next_delay_s = self.refresh_s
        self.attempts = 0
        self.failures = 0  # consecutive failed attempts
        self._static = static.current()
        self._fetch = fetch
        self._auth_hint = auth_hint
        self._warned = False
        self._current = self._embedded("pending")
        self._stop = threading.Event()
        self._first = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"greenops-live-{name}", daemon=True)
        self._thread.start()

    def current(self) -> Intensity:
        return self._current

    def wait_first(self, timeout_s: float) -> bool:
        """Block until the first request finished (tests, or callers who want a live value at start)."""
        return self._first.wait(timeout_s)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)

    def _embedded(self, why: str) -> Intensity:
        return Intensity(self._static.carbon_intensity_g_per_kwh, self._static.mix,
                         f"embedded (live {why})" if why == "pending" else f"embedded (live failed: {why})")

    def _run(self) -> None:
        while not self._stop.is_set():
            keep_going = self._attempt()
            self._first.set()
            if not keep_going or self._stop.wait(self.next_delay_s):
                return

    def _attempt(self) -> bool:
        """One request; returns False when polling should stop (auth rejected)."""
        self.attempts += 1
        try:
            self._current = self._fetch()
            self.next_delay_s = self.refresh_s
            self.failures = 0
            return True
        except LiveError as e:
            return self._failed(e)
        except Exception as e:  # noqa: BLE001 - no response shape may end the polling thread
            return self._failed(LiveError(f"unexpected response ({type(e).__name__}: {e})"))

    def _backoff(self, retry_after_s: float | None) -> float:
        """Seconds until the next attempt after the ``self.failures``-th failure in a row."""
        cap = max(self.refresh_s, MAX_BACKOFF_S)
        delay = min(cap, self.refresh_s * 2.0 ** min(self.failures - 1, 60))
        if retry_after_s is not None:
            delay = max(delay, min(cap, retry_after_s))
        return delay

    def _failed(self, e: LiveError) -> bool:
        self.failures += 1
        reason = e.reason
        auth = e.status in (401, 403)
        self.next_delay_s = self._backoff(e.retry_after_s if e.status == 429 else None)
        if e.status == 429:
            reason = f"rate limited (HTTP 429), retry in {self.next_delay_s:g}s"
        elif auth:
            reason = f"HTTP {e.status}, token rejected"
        self._current = self._embedded(reason)
        if not self._warned:
            self._warned = True
            extra = f" {self._auth_hint}" if auth and self._auth_hint else ""
            warnings.warn(f"greenops_tb: live grid data from {self.name} failed ({reason}); using the embedded "
                          f"{self._static.source} value {self._static.carbon_intensity_g_per_kwh:g} g/kWh for "
                          f"{self.profile.zone}.{extra}", LiveGridWarning, stacklevel=2)
        return not auth
