"""Run summaries and the provider's run listing, reused while the provider reports nothing new."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Hashable

from tensorboard import errors as tb_errors
from tensorboard.context import RequestContext

from greenops_tb.analysis.contract import RunSummary
from greenops_tb.analysis.run_summary import summarize
from greenops_tb.format.tags import PLUGIN_NAME
from greenops_tb.readers.events import RunData, read_runs

LISTING_TTL_S = 2.0

#: run -> {tag: the provider's time series metadata}, runs with green data only
Listing = dict[str, dict[str, Any]]


def no_green_data(run: str) -> tb_errors.NotFoundError:
    return tb_errors.NotFoundError(f"no green data for run {run!r}; /runs lists the runs that have some")


class SummaryCache:
    """Run summaries, recomputed only when the provider reports new green data for the run.

    The provider's listing itself is reused for ``LISTING_TTL_S`` (each data call to the
    Rust data server costs tens of ms; TensorBoard reloads every few seconds anyway).
    """

    def __init__(self, provider: Any) -> None:
        self._provider = provider
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str, Hashable], tuple[Any, Any]] = {}
        self._listings: dict[str, tuple[float, Listing]] = {}

    def listing(self, ctx: RequestContext, eid: str) -> Listing:
        """Run -> {tag: time series metadata} for runs with green data."""
        now = time.monotonic()
        with self._lock:
            hit = self._listings.get(eid)
        if hit is not None and now - hit[0] < LISTING_TTL_S:
            return hit[1]
        listing = self._provider.list_tensors(ctx, experiment_id=eid, plugin_name=PLUGIN_NAME)
        result = {run: tags for run, tags in listing.items() if tags}
        with self._lock:
            self._listings[eid] = (now, result)
        return result

    def summary(self, ctx: RequestContext, eid: str, run: str, listing: Listing | None = None) -> RunSummary:
        """The run's summary; :class:`tensorboard.errors.NotFoundError` when it has no green data."""
        return self.derived(ctx, eid, run, "summary", summarize, listing)

    def derived(self, ctx: RequestContext, eid: str, run: str, name: Hashable, compute: Callable[[RunData], Any],
                listing: Listing | None = None) -> Any:
        """``compute(the run's data)``, cached under ``name`` until the provider reports new data for the run
        (the records themselves are not kept: a run read with ``green=0`` may hold millions)."""
        listing = self.listing(ctx, eid) if listing is None else listing
        tags = listing.get(run)
        if tags is None:
            raise no_green_data(run)
        key = tuple(sorted((tag, ts.max_step, ts.max_wall_time) for tag, ts in tags.items()))
        with self._lock:
            hit = self._entries.get((eid, run, name))
        if hit is not None and hit[0] == key:
            return hit[1]
        data = read_runs(self._provider, ctx, eid, runs=[run], listing={run: tags}).get(run)  # listed once
        if data is None:  # deleted between listing and reading
            raise no_green_data(run)
        result = compute(data)
        with self._lock:
            self._entries[(eid, run, name)] = (key, result)
        return result
