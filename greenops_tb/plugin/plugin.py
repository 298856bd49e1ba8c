"""The Green tab's backend: JSON routes over TensorBoard's data provider.

Routes (under ``/data/plugin/green``), all GET, all JSON:

``/runs``                      runs with green data, their stages and latest step/time
``/summary?run=R``             totals, per stage, per device, source mix and CO2 by source, location, PUE, provenance
``/series?run=R&points=N``     per stage: energy, CO2, cost, duration (running totals) and power, by step and wall time
``/mix?run=R``                 source mix of the run and of each stage (kWh, shares, CO2 by source)
``/compare?run=A&run=B...``    headline numbers of several runs side by side
``/watched?run=R&points=N``    watched values per stage
``/static/<file>``             the bundled dashboard (ES module), path-traversal guarded

Bad parameters answer 400, unknown runs 404, both as ``{"error": ...}``.
Everything goes through ``context.data_provider`` (Rust data server or the
Python ingester alike). Series points are capped server-side by the provider's
own downsampling. Retention: TensorBoard keeps 1000 scalar points per tag and 10
green records per stage by default. Totals are always exact (each stage's latest
record is always kept); ``tensorboard --samples_per_plugin scalars=0,green=0``
keeps everything, for full-resolution series and exact device and source splits.
"""
from __future__ import annotations

import json
import logging
import mimetypes
import os
import threading
import time
from typing import Any, Callable

from tensorboard import errors as tb_errors
from tensorboard.backend import http_util
from tensorboard.context import RequestContext
from tensorboard.plugins import base_plugin
from werkzeug import wrappers
from werkzeug.security import safe_join

from greenops_tb.plugin.aggregate import headline, json_safe, mix_shares, summarize
from greenops_tb.readers.events import read_runs, read_scalar_series
from greenops_tb.records import EVENT_SCALARS, PLUGIN_NAME, RECORD_TAG_SUFFIX

log = logging.getLogger(__name__)

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
ES_MODULE = "index.js"
FALLBACK_MODULE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fallback.js")
DEFAULT_POINTS = 500
MAX_POINTS = 5000
MAX_COMPARE = 50
MAX_RUN_NAME = 4096
LISTING_TTL_S = 2.0

Handler = Callable[[wrappers.Request], wrappers.Response]


class HttpError(Exception):
    """A client error with its HTTP status, answered as JSON."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _json(request: wrappers.Request, payload: Any, code: int = 200) -> wrappers.Response:
    body = json.dumps(json_safe(payload), separators=(",", ":"), allow_nan=False)
    return http_util.Respond(request, body, "application/json", code=code)


def _route(fn: Callable[[Any, wrappers.Request], Any]) -> Callable[[Any, Any, Any], Any]:
    """A JSON route: the handler returns a payload or raises :class:`HttpError`."""

    @wrappers.Request.application
    def app(self: Any, request: wrappers.Request) -> wrappers.Response:
        try:
            return _json(request, fn(self, request))
        except HttpError as err:
            return _json(request, {"error": str(err)}, err.code)
        except tb_errors.PublicError as err:
            return _json(request, {"error": str(err)}, err.http_code)
        except Exception as err:  # provider failure or data we could not read: say so, keep serving
            log.exception("green route %s failed", request.path)
            return _json(request, {"error": f"could not read the data: {type(err).__name__}: {err}"}, 503)

    app.__name__ = fn.__name__
    return app


def _run_param(request: wrappers.Request) -> str:
    run = request.args.get("run")
    if run is None or run == "":
        raise HttpError(400, "missing parameter 'run' (a run name from /runs)")
    if len(run) > MAX_RUN_NAME:
        raise HttpError(400, f"parameter 'run' is longer than {MAX_RUN_NAME} characters")
    return run


def _points_param(request: wrappers.Request) -> int:
    raw = request.args.get("points")
    if raw is None:
        return DEFAULT_POINTS
    try:
        n = int(raw)
    except ValueError:
        raise HttpError(400, f"parameter 'points' must be an integer from 2 to {MAX_POINTS}, got {raw!r}") from None
    if not 2 <= n <= MAX_POINTS:
        raise HttpError(400, f"parameter 'points' must be from 2 to {MAX_POINTS}, got {n}")
    return n


def stage_of_record_tag(tag: str) -> str | None:
    """``green/<stage>/record`` -> ``<stage>``; None for other tags (e.g. run metadata)."""
    if tag.startswith("green/") and tag.endswith(RECORD_TAG_SUFFIX):
        return tag[len("green/"): -len(RECORD_TAG_SUFFIX)]
    return None


def _split_tag(tag: str, prefix: str, stages: list[str]) -> tuple[str, str]:
    """``<prefix><stage>/<name>`` -> (stage, name), matching the longest known stage first."""
    rest = tag[len(prefix):]
    for stage in sorted(stages, key=len, reverse=True):
        if rest.startswith(stage + "/"):
            return stage, rest[len(stage) + 1:]
    stage, _, name = rest.rpartition("/")
    return stage, name


class SummaryCache:
    """Run summaries, recomputed only when the provider reports new green data for the run.

    The provider's listing itself is reused for ``LISTING_TTL_S`` (each data call to the
    Rust data server costs tens of ms; TensorBoard reloads every few seconds anyway).
    """

    def __init__(self, provider: Any) -> None:
        self._provider = provider
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[Any, dict[str, Any]]] = {}
        self._listings: dict[str, tuple[float, dict[str, dict[str, Any]]]] = {}

    def listing(self, ctx: RequestContext, eid: str) -> dict[str, dict[str, Any]]:
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

    def summary(self, ctx: RequestContext, eid: str, run: str, listing: dict[str, dict[str, Any]] | None = None
                ) -> dict[str, Any]:
        listing = self.listing(ctx, eid) if listing is None else listing
        tags = listing.get(run)
        if tags is None:
            raise HttpError(404, f"no green data for run {run!r}; /runs lists the runs that have some")
        key = tuple(sorted((tag, ts.max_step, ts.max_wall_time) for tag, ts in tags.items()))
        with self._lock:
            hit = self._entries.get((eid, run))
        if hit is not None and hit[0] == key:
            return hit[1]
        data = read_runs(self._provider, ctx, eid, runs=[run]).get(run)
        if data is None:  # deleted between listing and reading
            raise HttpError(404, f"no green data for run {run!r}")
        result = summarize(data)
        with self._lock:
            self._entries[(eid, run)] = (key, result)
        return result


class GreenPlugin(base_plugin.TBPlugin):
    """TensorBoard plugin ``green``: the Green tab."""

    plugin_name = PLUGIN_NAME

    def __init__(self, context: base_plugin.TBContext) -> None:
        self._provider = context.data_provider
        self._cache = SummaryCache(self._provider)
        if not os.path.isfile(os.path.join(STATIC_DIR, ES_MODULE)):
            log.warning(
                "greenops_tb: the Green tab's bundle is missing (%s); build it with "
                "`npm --prefix frontend ci && npm --prefix frontend run build` or reinstall with node/npm on PATH",
                os.path.join(STATIC_DIR, ES_MODULE),
            )

    def is_active(self) -> bool:
        # TensorBoard enables the tab from the data provider's plugin list; nothing to compute here.
        return False

    def frontend_metadata(self) -> base_plugin.FrontendMetadata:
        return base_plugin.FrontendMetadata(es_module_path="/static/" + ES_MODULE, tab_name="Green")

    def get_plugin_apps(self) -> dict[str, Handler]:
        return {
            "/runs": self._serve_runs,
            "/summary": self._serve_summary,
            "/series": self._serve_series,
            "/mix": self._serve_mix,
            "/compare": self._serve_compare,
            "/watched": self._serve_watched,
            "/static/*": self._serve_static,
        }

    @staticmethod
    def _ctx(request: wrappers.Request) -> tuple[RequestContext, str]:
        from tensorboard import plugin_util

        return plugin_util.context(request.environ), plugin_util.experiment_id(request.environ)

    @_route
    def _serve_runs(self, request: wrappers.Request) -> Any:
        ctx, eid = self._ctx(request)
        runs = []
        for run, tags in sorted(self._cache.listing(ctx, eid).items()):
            stages = sorted(s for s in map(stage_of_record_tag, tags) if s is not None)
            runs.append({
                "run": run,
                "stages": stages,
                "max_step": max(ts.max_step for ts in tags.values()),
                "max_wall_time": max(ts.max_wall_time for ts in tags.values()),
            })
        return {"runs": runs}

    @_route
    def _serve_summary(self, request: wrappers.Request) -> Any:
        ctx, eid = self._ctx(request)
        return self._cache.summary(ctx, eid, _run_param(request))

    @_route
    def _serve_mix(self, request: wrappers.Request) -> Any:
        ctx, eid = self._ctx(request)
        s = self._cache.summary(ctx, eid, _run_param(request))
        stages = [
            {"stage": st["stage"], "mix_kwh": st["mix_kwh"], "mix_shares": mix_shares(st["mix_kwh"]),
             "co2_by_source_kg": st["co2_by_source_kg"]}
            for st in s.get("stages", [])
        ]
        return {"run": s["run"], "mix_kwh": s.get("mix_kwh", {}), "mix_shares": s.get("mix_shares", {}),
                "co2_by_source_kg": s.get("co2_by_source_kg", {}), "stages": stages}

    @_route
    def _serve_compare(self, request: wrappers.Request) -> Any:
        ctx, eid = self._ctx(request)
        runs = request.args.getlist("run")
        if not runs or any(r == "" for r in runs):
            raise HttpError(400, "give one or more 'run' parameters, e.g. /compare?run=a&run=b")
        if len(runs) > MAX_COMPARE:
            raise HttpError(400, f"at most {MAX_COMPARE} runs can be compared at once, got {len(runs)}")
        listing = self._cache.listing(ctx, eid)
        unknown = [r for r in runs if r not in listing]
        if unknown:
            raise HttpError(404, f"no green data for runs {unknown!r}")
        return {"runs": [headline(self._cache.summary(ctx, eid, r, listing)) for r in dict.fromkeys(runs)]}

    def _series(self, request: wrappers.Request, prefix: str) -> tuple[str, dict[str, dict[str, Any]]]:
        """``prefix`` scalars of the run by stage, in one provider call; stages come from ``green/<stage>/energy_kwh``."""
        ctx, eid = self._ctx(request)
        run = _run_param(request)
        points = _points_param(request)
        scalars = read_scalar_series(self._provider, ctx, eid, run, points)
        energy_suffix = "/energy_kwh"
        stages = [t[len("green/"): -len(energy_suffix)] for t in scalars if t.startswith("green/") and t.endswith(energy_suffix)]
        if not stages:
            raise HttpError(404, f"no green data for run {run!r}; /runs lists the runs that have some")
        out: dict[str, dict[str, Any]] = {}
        for tag, pts in scalars.items():
            if not tag.startswith(prefix):
                continue
            stage, name = _split_tag(tag, prefix, stages)
            out.setdefault(stage, {})[name] = {
                "step": [p.step for p in pts],
                "wall_time": [p.wall_time for p in pts],
                "value": [p.value for p in pts],
            }
        return run, out

    @_route
    def _serve_series(self, request: wrappers.Request) -> Any:
        run, series = self._series(request, "green/")
        metrics = set(EVENT_SCALARS)
        return {"run": run, "metrics": list(EVENT_SCALARS),
                "stages": {s: {m: v for m, v in ms.items() if m in metrics} for s, ms in series.items()}}

    @_route
    def _serve_watched(self, request: wrappers.Request) -> Any:
        run, series = self._series(request, "watch/")
        return {"run": run, "stages": series}

    @wrappers.Request.application
    def _serve_static(self, request: wrappers.Request) -> wrappers.Response:
        marker = "/static/"
        sub = request.path[request.path.index(marker) + len(marker):] if marker in request.path else ""
        path = safe_join(STATIC_DIR, sub) if sub else None
        if path is None:
            return _json(request, {"error": f"bad static path {sub!r}"}, 400)
        if not os.path.isfile(path) and sub == ES_MODULE:
            path = FALLBACK_MODULE  # no bundle built: a page that says why and how to build it
        if not os.path.isfile(path):
            return _json(request, {"error": f"no static file {sub!r} (is the frontend built?)"}, 404)
        mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
        if path.endswith((".js", ".mjs")):
            mimetype = "text/javascript"
        with open(path, "rb") as f:
            content = f.read()
        return http_util.Respond(request, content, mimetype)
