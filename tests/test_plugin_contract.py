"""The response contract: the routes' real answers match the TypedDicts of ``greenops_tb/analysis/contract.py``,
and those match ``frontend/src/types.ts``: the answers and the TypedDicts' key sets are written as typed
TypeScript (``frontend/test/fixtures/responses.ts``) and compiled with ``tsc`` against the interfaces."""
from __future__ import annotations

import json
import shutil
import subprocess
import types
import typing
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from conftest import require
from greenops_tb.analysis import contract
from plugin_fixtures import bench_run, write_job, write_run
from test_plugin_routes import client

FRONTEND = Path(__file__).resolve().parent.parent / "frontend"
FIXTURE = FRONTEND / "test" / "fixtures" / "responses.ts"

#: what each route is asked (one run with records, stages and a watched value), and the TypedDict it answers
REQUESTS = {
    "runs": ("/runs", contract.RunsResponse),
    "summary": ("/summary?run=base", contract.RunSummary),
    "summary_job": ("/summary?run=job", contract.RunSummary),  # a distributed job of rank shards
    "series": ("/series?run=base&points=3", contract.SeriesResponse),
    "mix": ("/mix?run=base", contract.MixResponse),
    "compare": ("/compare?run=base", contract.CompareResponse),
    "watched": ("/watched?run=base&points=3", contract.WatchedResponse),
    "whatif": ("/whatif?run=base&top=3&scope=choices", contract.WhatIfResponse),
    "inference": ("/inference?run=bench/a&run=bench/b&requests_per_day=5000", contract.InferenceResponse),
    "not_a_bench": ("/inference?run=base", contract.InferenceResponse),
    "error": ("/summary?run=nope", contract.ErrorResponse),
}


def is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__required_keys__")


def hints(td: type) -> dict[str, Any]:
    return typing.get_type_hints(td, vars(contract))


def conforms(value: Any, tp: Any, where: str) -> list[str]:
    """What in ``value`` does not fit the type ``tp`` (a TypedDict, list/dict of, X | None, a scalar)."""
    if tp is Any:
        return []
    if is_typeddict(tp):
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__}, not an object"]
        keys = set(value)
        problems = [f"{where}: missing {k!r}" for k in sorted(tp.__required_keys__ - keys)]
        extra = keys - tp.__required_keys__ - tp.__optional_keys__
        problems += [f"{where}: {k!r} is not in {tp.__name__}" for k in sorted(extra)]
        h = hints(tp)
        for k in keys & set(h):
            problems += conforms(value[k], h[k], f"{where}.{k}")
        return problems
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        options = [conforms(value, a, where) for a in args]
        return [] if any(not p for p in options) else min(options, key=len)
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: not a list"]
        return [p for i, v in enumerate(value) for p in conforms(v, args[0], f"{where}[{i}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: not an object"]
        return [p for k, v in value.items() for p in conforms(v, args[1], f"{where}[{k!r}]")]
    if tp is type(None):
        return [] if value is None else [f"{where}: {value!r} is not null"]
    want = (int, float) if tp is float else tp
    ok = isinstance(value, want) and not (tp in (int, float) and isinstance(value, bool))
    return [] if ok else [f"{where}: {value!r} is not {tp.__name__}"]


def typeddicts() -> list[type]:
    """Every TypedDict the routes answer with, nested ones included, each once."""
    seen: dict[str, type] = {}
    todo: list[Any] = [tp for _, tp in REQUESTS.values()]
    while todo:
        tp = todo.pop()
        if is_typeddict(tp):
            if tp.__name__ not in seen:
                seen[tp.__name__] = tp
                todo += hints(tp).values()
        else:
            todo += typing.get_args(tp)
    return [seen[n] for n in sorted(seen)]


def union(keys: frozenset[str]) -> str:
    return " | ".join(json.dumps(k) for k in sorted(keys)) or "never"


def typescript(answers: dict[str, Any]) -> str:
    """The fixture: key-set checks per TypedDict, then each answer as an object literal of its TS type."""
    lines = [
        "// Written by tests/test_plugin_contract.py from the real routes and greenops_tb/analysis/contract.py; do not edit.",
        'import type * as T from "../../src/types";',
        "type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;",
        "type Within<A, B> = [A] extends [B] ? true : false;",
        "type RequiredKeys<X> = { [K in keyof X]-?: {} extends Pick<X, K> ? never : K }[keyof X];",
        "",
        "// the same keys as the TypedDict; what TypeScript requires, the backend always sends",
    ]
    for td in typeddicts():
        n = td.__name__
        lines.append(f"export const keys{n}: Same<keyof T.{n}, {union(td.__required_keys__ | td.__optional_keys__)}> = true;")
        lines.append(f"export const required{n}: Within<RequiredKeys<T.{n}>, {union(td.__required_keys__)}> = true;")
    lines += ["", "// the routes' answers: an object literal fails to compile on a key its type lacks, or a wrong type"]
    for name, (_, tp) in REQUESTS.items():
        lines.append(f"export const {name}: T.{tp.__name__} = {json.dumps(answers[name], indent=1, ensure_ascii=False)};")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def c(tmp_path_factory: pytest.TempPathFactory) -> Client:
    logdir = tmp_path_factory.mktemp("contract")
    write_run(logdir, "base", steps=6, eval_every=3)
    bench_run(logdir / "bench")
    write_job(logdir, "job")
    return client(logdir)


def test_routes_answer_the_contract_and_the_frontend_types_accept_it(c: Client) -> None:
    answers: dict[str, Any] = {}
    for name, (path, tp) in REQUESTS.items():
        r = c.get("/data/plugin/green" + path)
        assert r.status_code == (404 if name == "error" else 200), (path, r.status_code)
        answers[name] = json.loads(r.get_data(as_text=True))
        assert conforms(answers[name], tp, name) == [], path
    # every optional key of the summary, the series' stages and a watched value were exercised
    assert set(answers["summary"]) | set(answers["summary_job"]) == \
        contract.RunSummary.__required_keys__ | contract.RunSummary.__optional_keys__
    assert answers["watched"]["stages"]["train"] and answers["series"]["stages"]["eval"]
    assert answers["inference"]["bench"] == "bench" and len(answers["inference"]["variants"]) == 2
    assert answers["not_a_bench"]["bench"] is None and answers["not_a_bench"]["variants"] == []
    FIXTURE.write_text(typescript(answers), encoding="utf-8")
    require(shutil.which("npx") is not None and (FRONTEND / "node_modules").is_dir(),
            "node, npm and the frontend's packages (npm --prefix frontend ci)")
    out = subprocess.run(["npx", "tsc", "--noEmit"], check=False, cwd=FRONTEND, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, ("frontend/src/types.ts and the backend's answers differ:\n"
                                 + out.stdout[-4000:] + out.stderr[-2000:])


def test_the_contract_check_catches_drift() -> None:
    """The checker itself: a key the TypedDict lacks, a missing key and a wrong type are each reported."""
    good = {"run": "a", "stages": ["train"], "max_step": 3, "max_wall_time": 1.5}
    assert conforms({"runs": [good]}, contract.RunsResponse, "r") == []
    assert conforms({"runs": [{**good, "extra": 1}]}, contract.RunsResponse, "r") == ["r.runs[0]: 'extra' is not in RunInfo"]
    assert conforms({"runs": [{k: v for k, v in good.items() if k != "stages"}]}, contract.RunsResponse, "r") == [
        "r.runs[0]: missing 'stages'"]
    assert conforms({"runs": [{**good, "max_step": "3"}]}, contract.RunsResponse, "r") == ["r.runs[0].max_step: '3' is not int"]
    assert conforms({"error": None}, contract.ErrorResponse, "e") == ["e.error: None is not str"]


def test_the_results_json_forms_are_derived_from_their_dataclasses() -> None:
    """Efficiency, Range, ContextStats, Place and WhatIf are defined once, as dataclasses; the contract's forms
    have exactly their fields (plus the properties their JSON adds), nested results as their own forms."""
    from greenops_tb.analysis import context, elsewhere, uncertainty
    from greenops_tb.format import workunits

    eff = workunits.Efficiency
    for form, cls, extra in [(contract.Efficiency, eff, eff.JSON_PROPERTIES), (contract.Range, uncertainty.Range, ()),
                             (contract.ContextStats, context.ContextStats, ()), (contract.Place, elsewhere.Place, ()),
                             (contract.WhatIfResponse, elsewhere.WhatIf, ())]:
        assert list(form.__annotations__) == [f.name for f in fields(cls)] + list(extra), cls
        assert form.__required_keys__ == frozenset(form.__annotations__)
    h = hints(contract.WhatIfResponse)
    assert h["this_run"] is contract.Place and h["cleanest"] == list[contract.Place]
    assert hints(contract.Ranges)["cost"] == contract.Range | None
    e = workunits.efficiency("train", 0.002, 0.0008, 40, "sample")
    assert conforms(e.to_json(), contract.Efficiency, "e") == []
    assert conforms(asdict(uncertainty.Range(1.0, 0.9, 1.1)), contract.Range, "r") == []
    # a new result: its form follows its fields, nested results included
    inner, outer = contract.json_form(_Inner), contract.json_form(_Outer)
    assert hints(outer) == {"inner": inner | None, "many": dict[str, list[inner]]}
    assert conforms({"inner": None, "many": {"a": [{"x": 1.5}]}}, outer, "o") == []
    assert conforms({"inner": {"x": "1"}, "many": {}}, outer, "o") == ["o.inner.x: '1' is not float"]


@dataclass
class _Inner:
    x: float


@dataclass
class _Outer:
    inner: _Inner | None
    many: dict[str, list[_Inner]]
