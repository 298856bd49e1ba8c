"""The Green tab's backend: JSON routes over TensorBoard's data provider.

Routes (under ``/data/plugin/green``), all GET, all JSON; what each answers is the
``TypedDict`` named in :mod:`greenops_tb.analysis.contract`:

``/runs``                      runs with green data, their stages and latest step/time (``RunsResponse``)
``/summary?run=R``             totals, per stage, per device, source mix and CO2 by source, location, PUE, provenance
``/series?run=R&points=N``     per stage: energy, CO2, cost, duration (running totals) and power, by step and wall time
``/mix?run=R``                 source mix of the run and of each stage (kWh, shares, CO2 by source)
``/compare?run=A&run=B...``    headline numbers of several runs side by side
``/watched?run=R&points=N``    watched values per stage
``/whatif?run=R&top=N&cloud=aws,gcp&pue=P&scope=world|choices``
                               the same run elsewhere: every zone / cloud region ranked, or (``scope=choices``)
                               the cloud regions and the zones near the run's (``WhatIfResponse``)
``/inference?run=A&run=B...&requests_per_day=N``
                               the inference bench the runs are variants of, at N requests a day
                               (``InferenceResponse``; ``bench`` null when they are not one bench's variants)
``/static/<file>``             the bundled dashboard (ES module), path-traversal guarded

As in TensorBoard's own plugins, each ``*_route`` parses the request and answers;
its ``*_impl`` talks to the data provider and returns plain data. Bad parameters
raise :class:`tensorboard.errors.InvalidArgumentError` (400), unknown runs
:class:`~tensorboard.errors.NotFoundError` (404); :func:`_json_errors` answers them
as ``{"error": ...}`` (the dashboard shows the message) where TensorBoard's own
handler would answer plain text. Everything goes through ``context.data_provider``
(Rust data server or the Python ingester alike). Series points are capped
server-side by the provider's own downsampling. Retention: TensorBoard keeps 1000
scalar points per tag and a sample of the green records per stage by default.
Totals and their device and source splits are always exact (each stage's latest
record is always kept, and records carry running splits); ``tensorboard
--samples_per_plugin scalars=0,green=0`` keeps everything, for full-resolution series.
"""
from __future__ import annotations

import functools
import json
import logging
import mimetypes
import os
from dataclasses import asdict
from typing import Any, Callable, Iterable

from tensorboard import errors as tb_errors
from tensorboard.backend import http_util
from tensorboard.context import RequestContext
from tensorboard.plugins import base_plugin
from werkzeug import wrappers
from werkzeug.security import safe_join

from greenops_tb.analysis.contract import (
    CompareResponse,
    InferenceResponse,
    MixResponse,
    RunInfo,
    RunsResponse,
    RunSummary,
    Series,
    SeriesResponse,
    StageMix,
    WatchedResponse,
    WhatIfResponse,
)
from greenops_tb.analysis.elsewhere import SCOPES, whatif
from greenops_tb.analysis.inference import bench_result, no_bench_json, result_json
from greenops_tb.analysis.run_summary import headline, json_safe, mix_shares
from greenops_tb.format.tags import (
    EVENT_SCALARS,
    PLUGIN_NAME,
    parse_scalar_tag,
    parse_watch_tag,
    stage_of_record_tag,
    stages_of_scalar_tags,
)
from greenops_tb.plugin.cache import SummaryCache, no_green_data
from greenops_tb.readers.bench import read_selected
from greenops_tb.readers.events import RunData, read_scalar_series

log = logging.getLogger(__name__)

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
ES_MODULE = "index.js"
FALLBACK_MODULE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fallback.js")
DEFAULT_POINTS = 500
MAX_POINTS = 5000
MAX_COMPARE = 50
MAX_RUN_NAME = 4096
DEFAULT_WHATIF = 15
MAX_WHATIF = 200
DEFAULT_REQUESTS_PER_DAY = 1_000_000

#: a route as TensorBoard calls it: a WSGI application, ``(environ, start_response) -> body``
WsgiApp = Callable[[Any, Any], Iterable[bytes]]
Route = Callable[[Any, wrappers.Request], wrappers.Response]
#: tag -> (stage, name) given the run's stages, None for tags of another kind
TagParser = Callable[[str, list[str]], "tuple[str, str] | None"]


def _respond(request: wrappers.Request, payload: Any, code: int = 200) -> wrappers.Response:
    body = json.dumps(json_safe(payload), separators=(",", ":"), allow_nan=False)
    return http_util.Respond(request, body, "application/json", code=code)


def _route(route: Route) -> Callable[[Any, Any, Any], Iterable[bytes]]:
    """A route method as a WSGI application (werkzeug's ``Request.application``); TensorBoard's public errors
    are answered as ``{"error": ...}`` with their HTTP code, anything else 503."""

    @functools.wraps(route)
    def wrapper(self: Any, request: wrappers.Request) -> wrappers.Response:
        try:
            return route(self, request)
        except tb_errors.PublicError as err:
            return _respond(request, {"error": str(err)}, err.http_code)
        except Exception as err:  # provider failure or data we could not read: say so, keep serving
            log.exception("green route %s failed", request.path)
            return _respond(request, {"error": f"could not read the data: {type(err).__name__}: {err}"}, 503)

    # werkzeug types Request.application for functions; on a method it passes self through
    return wrappers.Request.application(wrapper)  # type: ignore[arg-type, return-value]


def _context(request: wrappers.Request) -> tuple[RequestContext, str]:
    from tensorboard import plugin_util

    return plugin_util.context(request.environ), plugin_util.experiment_id(request.environ)


def _run_arg(request: wrappers.Request) -> str:
    run = request.args.get("run")
    if run is None or run == "":
        raise tb_errors.InvalidArgumentError("missing parameter 'run' (a run name from /runs)")
    if len(run) > MAX_RUN_NAME:
        raise tb_errors.InvalidArgumentError(f"parameter 'run' is longer than {MAX_RUN_NAME} characters")
    return run


def _runs_arg(request: wrappers.Request) -> list[str]:
    runs = request.args.getlist("run")
    if not runs or any(r == "" for r in runs):
        raise tb_errors.InvalidArgumentError("give one or more 'run' parameters, e.g. /compare?run=a&run=b")
    if len(runs) > MAX_COMPARE:
        raise tb_errors.InvalidArgumentError(f"at most {MAX_COMPARE} runs can be compared at once, got {len(runs)}")
    return runs


def _points_arg(request: wrappers.Request) -> int:
    raw = request.args.get("points")
    if raw is None:
        return DEFAULT_POINTS
    try:
        n = int(raw)
    except ValueError:
        raise tb_errors.InvalidArgumentError(
            f"parameter 'points' must be an integer from 2 to {MAX_POINTS}, got {raw!r}") from None
    if not 2 <= n <= MAX_POINTS:
        raise tb_errors.InvalidArgumentError(f"parameter 'points' must be from 2 to {MAX_POINTS}, got {n}")
    return n


def _whatif_args(request: wrappers.Request) -> tuple[int, tuple[str, ...] | None, float | None, str]:
    """``top`` (1..MAX_WHATIF, default 15), ``cloud`` (providers, comma-separated; absent: every zone too), ``pue``,
    ``scope`` (``world``, the default, or ``choices``)."""
    raw_top, raw_cloud, raw_pue = request.args.get("top"), request.args.get("cloud"), request.args.get("pue")
    try:
        top = DEFAULT_WHATIF if raw_top is None else int(raw_top)
        pue = None if raw_pue in (None, "") else float(raw_pue)
    except ValueError:
        raise tb_errors.InvalidArgumentError(
            f"parameters 'top' (an integer) and 'pue' (a number >= 1) could not be read: {raw_top!r}, {raw_pue!r}"
        ) from None
    if not 1 <= top <= MAX_WHATIF:
        raise tb_errors.InvalidArgumentError(f"parameter 'top' must be from 1 to {MAX_WHATIF}, got {top}")
    clouds = tuple(c for c in raw_cloud.split(",") if c) if raw_cloud else None
    scope = request.args.get("scope") or "world"
    if scope not in SCOPES:
        raise tb_errors.InvalidArgumentError(f"parameter 'scope' must be one of {', '.join(SCOPES)}, got {scope!r}")
    return top, clouds, pue, scope


def _volume_arg(request: wrappers.Request) -> float:
    raw = request.args.get("requests_per_day")
    try:
        n = DEFAULT_REQUESTS_PER_DAY if raw in (None, "") else float(raw)
    except ValueError:
        n = -1.0
    if not 0 <= n < float("inf"):
        raise tb_errors.InvalidArgumentError(f"parameter 'requests_per_day' must be a number >= 0, got {raw!r}")
    return n


class GreenPlugin(base_plugin.TBPlugin):
    """TensorBoard plugin ``green``: the Green tab."""

    plugin_name = PLUGIN_NAME

    def __init__(self, context: base_plugin.TBContext) -> None:
        self._provider = context.data_provider
        self._logdir = context.logdir or ""  # where inference benches keep their manifests
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

    def get_plugin_apps(self) -> dict[str, WsgiApp]:
        return {
            "/runs": self.runs_route,
            "/summary": self.summary_route,
            "/series": self.series_route,
            "/mix": self.mix_route,
            "/compare": self.compare_route,
            "/watched": self.watched_route,
            "/whatif": self.whatif_route,
            "/inference": self.inference_route,
            "/static/*": self.static_route,
        }

    # -- impls: data provider in, plain data out ---------------------------------------------------------------

    def runs_impl(self, ctx: RequestContext, experiment: str) -> RunsResponse:
        runs: list[RunInfo] = []
        for run, tags in sorted(self._cache.listing(ctx, experiment).items()):
            stages = sorted(s for s in map(stage_of_record_tag, tags) if s is not None)
            runs.append({
                "run": run,
                "stages": stages,
                "max_step": max(ts.max_step for ts in tags.values()),
                "max_wall_time": max(ts.max_wall_time for ts in tags.values()),
            })
        return {"runs": runs}

    def summary_impl(self, ctx: RequestContext, experiment: str, run: str) -> RunSummary:
        return self._cache.summary(ctx, experiment, run)

    def mix_impl(self, ctx: RequestContext, experiment: str, run: str) -> MixResponse:
        s = self._cache.summary(ctx, experiment, run)
        stages: list[StageMix] = [
            {"stage": st["stage"], "mix_kwh": st["mix_kwh"], "mix_shares": mix_shares(st["mix_kwh"]),
             "co2_by_source_kg": st["co2_by_source_kg"]}
            for st in s.get("stages", [])
        ]
        return {"run": s["run"], "mix_kwh": s.get("mix_kwh", {}), "mix_shares": s.get("mix_shares", {}),
                "co2_by_source_kg": s.get("co2_by_source_kg", {}), "stages": stages}

    def compare_impl(self, ctx: RequestContext, experiment: str, runs: list[str]) -> CompareResponse:
        listing = self._cache.listing(ctx, experiment)
        unknown = [r for r in runs if r not in listing]
        if unknown:
            raise tb_errors.NotFoundError(f"no green data for runs {unknown!r}")
        return {"runs": [headline(self._cache.summary(ctx, experiment, r, listing)) for r in dict.fromkeys(runs)]}

    def series_impl(self, ctx: RequestContext, experiment: str, run: str, points: int) -> SeriesResponse:
        series = self._stage_series(ctx, experiment, run, points, parse_scalar_tag)
        metrics = set(EVENT_SCALARS)
        return {"run": run, "metrics": list(EVENT_SCALARS),
                "stages": {s: {m: v for m, v in ms.items() if m in metrics} for s, ms in series.items()}}

    def watched_impl(self, ctx: RequestContext, experiment: str, run: str, points: int) -> WatchedResponse:
        return {"run": run, "stages": self._stage_series(ctx, experiment, run, points, parse_watch_tag)}

    def whatif_impl(self, ctx: RequestContext, experiment: str, run: str, top: int, clouds: tuple[str, ...] | None,
                    pue: float | None, scope: str = "world") -> WhatIfResponse:
        def compute(data: RunData) -> WhatIfResponse:
            try:
                return asdict(whatif(data.records, run=data.run, pue=pue, top=top, clouds=clouds, scope=scope))
            except ValueError as err:
                raise tb_errors.InvalidArgumentError(str(err)) from None

        return self._cache.derived(ctx, experiment, run, ("whatif", top, clouds, pue, scope), compute)

    def inference_impl(self, ctx: RequestContext, experiment: str, runs: list[str],
                       requests_per_day: float) -> InferenceResponse:
        found = read_selected(self._provider, ctx, experiment, self._logdir, runs)
        if found is None:
            return no_bench_json(requests_per_day)  # type: ignore[return-value]
        prefix, manifest, records = found
        return {"bench": prefix, **result_json(bench_result(manifest, records), requests_per_day)}  # type: ignore[typeddict-item]

    def _stage_series(self, ctx: RequestContext, experiment: str, run: str, points: int, parse: TagParser
                      ) -> dict[str, dict[str, Series]]:
        """The run's scalars that ``parse`` names (stage, name), by stage, in one provider call."""
        scalars = read_scalar_series(self._provider, ctx, experiment, run, points)
        stages = stages_of_scalar_tags(scalars)
        if not stages:
            raise no_green_data(run)
        out: dict[str, dict[str, Series]] = {}
        for tag, pts in scalars.items():
            parsed = parse(tag, stages)
            if parsed is None:
                continue
            stage, name = parsed
            out.setdefault(stage, {})[name] = {
                "step": [p.step for p in pts],
                "wall_time": [p.wall_time for p in pts],
                "value": [p.value for p in pts],
            }
        return out

    # -- routes: request in, response out ----------------------------------------------------------------------

    @_route
    def runs_route(self, request: wrappers.Request) -> wrappers.Response:
        return _respond(request, self.runs_impl(*_context(request)))

    @_route
    def summary_route(self, request: wrappers.Request) -> wrappers.Response:
        return _respond(request, self.summary_impl(*_context(request), _run_arg(request)))

    @_route
    def mix_route(self, request: wrappers.Request) -> wrappers.Response:
        return _respond(request, self.mix_impl(*_context(request), _run_arg(request)))

    @_route
    def compare_route(self, request: wrappers.Request) -> wrappers.Response:
        return _respond(request, self.compare_impl(*_context(request), _runs_arg(request)))

    @_route
    def series_route(self, request: wrappers.Request) -> wrappers.Response:
        return _respond(request, self.series_impl(*_context(request), _run_arg(request), _points_arg(request)))

    @_route
    def inference_route(self, request: wrappers.Request) -> wrappers.Response:
        return _respond(request, self.inference_impl(*_context(request), _runs_arg(request), _volume_arg(request)))

    @_route
    def watched_route(self, request: wrappers.Request) -> wrappers.Response:
        return _respond(request, self.watched_impl(*_context(request), _run_arg(request), _points_arg(request)))

    @_route
    def whatif_route(self, request: wrappers.Request) -> wrappers.Response:
        top, clouds, pue, scope = _whatif_args(request)
        ctx, experiment = _context(request)
        return _respond(request, self.whatif_impl(ctx, experiment, _run_arg(request), top, clouds, pue, scope))

    @_route
    def static_route(self, request: wrappers.Request) -> wrappers.Response:
        marker = "/static/"
        sub = request.path[request.path.index(marker) + len(marker):] if marker in request.path else ""
        path = safe_join(STATIC_DIR, sub) if sub else None
        if path is None:
            raise tb_errors.InvalidArgumentError(f"bad static path {sub!r}")
        if not os.path.isfile(path) and sub == ES_MODULE:
            path = FALLBACK_MODULE  # no bundle built: a page that says why and how to build it
        if not os.path.isfile(path):
            raise tb_errors.NotFoundError(f"no static file {sub!r} (is the frontend built?)")
        mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
        if path.endswith((".js", ".mjs")):
            mimetype = "text/javascript"
        with open(path, "rb") as f:
            content = f.read()
        return http_util.Respond(request, content, mimetype)
