"""What every vendor's GPU sources share: the library session, device activity, guarded calls.

* :class:`Session`: a reference-counted vendor library session (``nvmlInit``
  / ``amdsmi_init``): the last source to close shuts the library down.
* :class:`GpuActivity`: utilisation and used memory of one GPU, read by the
  sampler thread (never at a boundary): a record's device context.
* :func:`call`: a vendor call that returns its error text instead of raising.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from greenops_tb.errors import UsageError
from greenops_tb.meters.base import INTEGRAL_SUFFIX
from greenops_tb.meters.integrate import PowerIntegrator
from greenops_tb.meters.visible_devices import GpusOption, parse_gpus

log = logging.getLogger(__name__)

#: device-context keys of GPUs: the mean utilisation (%) over a record's interval, used memory (GB) at its end
UTIL_KEY = "util_pct" + INTEGRAL_SUFFIX
MEM_KEY = "mem_used_gb"


def call(fn: Any, *args: Any) -> tuple[Any, str | None]:
    """``(fn(*args), None)``, or ``(None, "<error type>: <error>")`` when it raises."""
    try:
        return fn(*args), None
    except Exception as err:  # noqa: BLE001 - vendor errors, or AttributeError on old bindings
        return None, f"{type(err).__name__}: {err}"


class Session:
    """Reference-counted library session shared by the sources of one selection."""

    def __init__(self, lib: Any, shutdown: Callable[[], Any]) -> None:
        self.lib = lib
        self._shutdown = shutdown
        self._refs = 0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            self._refs += 1

    def release(self) -> None:
        with self._lock:
            self._refs -= 1
            last = self._refs == 0
        if last:
            try:
                self._shutdown()
            except Exception:  # noqa: BLE001
                log.debug("shutting the GPU library down failed", exc_info=True)


class Held:
    """One reference to a :class:`Session`, taken now and released once (a source's ``close()``)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._lock = threading.Lock()
        self._released = False
        session.acquire()

    def release(self) -> None:
        with self._lock:
            if self._released:
                return
            self._released = True
        self._session.release()


def start_session(lib: Any, init: Callable[[Any], Any], shutdown: str, what: str, *, gpus: GpusOption,
                  mode: str) -> Session | None:
    """A held session of an initialised vendor library, or None when there is nothing to measure.

    ValueError for a bad ``mode`` or ``gpus=``; None for ``gpus="none"``, a missing library
    (``lib`` None) or one that fails to initialise (no driver, no GPU). The caller releases it.
    """
    if mode not in ("auto", "power"):
        raise UsageError(f"mode must be 'auto' or 'power', got {mode!r}")
    if parse_gpus(gpus) == []:
        return None
    if lib is None:
        log.debug("%s is not installed: its GPUs are not measured", what)
        return None
    try:
        init(lib)
    except Exception as err:  # noqa: BLE001 - no driver / no library: nothing to measure
        log.debug("%s unavailable (%s): its GPUs are not measured", what, err)
        return None
    session = Session(lib, getattr(lib, shutdown))
    session.acquire()  # held while building, so a source closing early does not shut the library down
    return session


class GpuActivity:
    """Utilisation and used memory of one GPU, read by the sampler: a record's device context.

    ``read_util()`` gives the utilisation in %, ``read_mem_gb()`` the used memory in GB.
    ``context(now)`` gives ``util_pct*s`` (running integral of the utilisation, so a
    record gets its mean over the record's interval) and ``mem_used_gb`` (the last
    sample). A reading the library does not support, or that fails later, is left out
    from then on (one debug log) and never fails the energy source. Shared by the
    sources a GPU goes through on fallback, so the integral stays continuous.
    """

    def __init__(self, read_util: Callable[[], float], read_mem_gb: Callable[[], float]) -> None:
        self._read_util = read_util
        self._read_mem = read_mem_gb
        self.util_error: str | None = None
        self._mem_error: str | None = None
        self._util = PowerIntegrator(1)
        self._mem_gb: float | None = None
        self.sample(time.perf_counter())

    @property
    def readable(self) -> bool:
        """Whether anything is still read (else the sampler need not call)."""
        return self.util_error is None or self._mem_error is None

    def sample(self, t: float) -> float | None:
        """Read utilisation and memory at monotonic time ``t``; the utilisation in %, None when unreadable."""
        util = None
        if self.util_error is None:
            util, self.util_error = call(self._read_util)
            if util is not None:
                util = float(util)
                self._util.add(t, [util])
            else:
                log.debug("GPU utilisation unreadable from now on: %s", self.util_error)
        if self._mem_error is None:
            self._mem_gb, self._mem_error = call(self._read_mem)
            if self._mem_gb is None:
                log.debug("GPU memory unreadable from now on: %s", self._mem_error)
        return util

    def context(self, now: float) -> dict[str, float]:
        out: dict[str, float] = {}
        if self.util_error is None:
            out[UTIL_KEY] = self._util.joules(now)[0]
        if self._mem_gb is not None:
            out[MEM_KEY] = self._mem_gb
        return out
