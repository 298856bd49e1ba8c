"""The on-disk contract of an inference bench: ``<log_dir>/inference.json`` beside one run per variant.

:class:`~greenops_tb.inference.InferenceBench` writes it; the ``inference`` command and the Green tab read it.
Energy is NOT in it: each variant's energy is in its own run (``<log_dir>/<variant>/``, records of stage
``infer_b<batch size>``, one per round, with ``samples`` = the requests of that round), so every reader of
runs sees the same numbers. The manifest adds what records cannot hold: the bench's settings, each call's
latency, the output comparison with the baseline, and the variants that could not be built, with why.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from greenops_tb.errors import NewerFormatError

BENCH_FILE = "inference.json"
BENCH_VERSION = 1
#: stage of one batch size's timed requests in a variant's run
STAGE_PREFIX = "infer_b"
WARMUP_STAGE = "warmup"


def stage_of(batch_size: int) -> str:
    """The stage that holds ``batch_size``'s timed rounds: ``infer_b8``."""
    return f"{STAGE_PREFIX}{batch_size}"


@dataclass(frozen=True, slots=True)
class Tolerance:
    """Outputs match when every element satisfies ``|x - base| <= atol + rtol * |base|`` (``torch.allclose``)."""

    atol: float = 1e-4
    rtol: float = 1e-3

    def text(self) -> str:
        return f"|x - baseline| <= {self.atol:g} + {self.rtol:g} x |baseline|"


@dataclass(frozen=True, slots=True)
class BatchEntry:
    """One variant at one batch size: each timed call's latency and its outputs against the baseline's."""

    batch_size: int
    latencies_s: list[float]  # every timed call, all rounds, in order (one call serves batch_size requests)
    outputs_match: bool
    max_abs_diff: float  # max |x - baseline| over all output elements (0.0 for the baseline)
    max_rel_diff: float  # max_abs_diff / max |baseline| (0.0 when the baseline is all zeros and x equals it)
    note: str = ""  # why outputs could not be compared (shapes differ, ...), else ""


@dataclass(frozen=True, slots=True)
class VariantEntry:
    """A variant: its run directory (relative to the bench's log dir), or why it was not built."""

    name: str
    run: str  # "" when not built
    how: str  # what the variant is: "torch.jit.trace", "torch.compile (inductor)", "your callable", ...
    reason: str = ""  # why it was not built or not applicable ("" when it ran)
    batches: list[BatchEntry] = field(default_factory=list)

    @property
    def built(self) -> bool:
        return not self.reason


@dataclass(frozen=True, slots=True)
class BenchManifest:
    """A bench's settings and its variants, first the baseline."""

    requests: int  # requests per variant per round per batch size
    rounds: int
    warmup: int  # untimed calls per variant and batch size before the rounds (recorded as stage "warmup")
    batch_sizes: list[int]
    tolerance: Tolerance
    device: str  # "cpu", "cuda:0", ...
    variants: list[VariantEntry]
    started_at: float
    version: int = BENCH_VERSION

    @property
    def baseline(self) -> str:
        return self.variants[0].name

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1)  # an infinite diff (shapes differ) as Infinity

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "BenchManifest":
        """The manifest of ``to_json()``'s dict; NewerFormatError for a newer version, ValueError for bad data."""
        if not isinstance(d, Mapping):
            raise ValueError(f"not an inference bench manifest (a JSON object expected, got {type(d).__name__})")
        version = int(d.get("version", BENCH_VERSION))
        if version > BENCH_VERSION:
            raise NewerFormatError("inference bench", version)
        try:
            variants = [
                VariantEntry(str(v["name"]), str(v["run"]), str(v["how"]), str(v.get("reason", "")),
                             [BatchEntry(int(b["batch_size"]), [float(x) for x in b["latencies_s"]],
                                         bool(b["outputs_match"]), float(b["max_abs_diff"]),
                                         float(b["max_rel_diff"]), str(b.get("note", "")))
                              for b in v.get("batches", [])])
                for v in d["variants"]
            ]
            tol = d.get("tolerance", {})
            out = cls(int(d["requests"]), int(d["rounds"]), int(d["warmup"]), [int(b) for b in d["batch_sizes"]],
                      Tolerance(float(tol.get("atol", 1e-4)), float(tol.get("rtol", 1e-3))), str(d["device"]),
                      variants, float(d["started_at"]), version)
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"not an inference bench manifest ({type(err).__name__}: {err})") from err
        if not variants or not all(math.isfinite(x) for v in variants for b in v.batches for x in b.latencies_s):
            raise ValueError("not an inference bench manifest (no variants, or non-finite latencies)")
        return out

    @classmethod
    def loads(cls, text: str) -> "BenchManifest":
        try:
            return cls.from_json(json.loads(text))
        except json.JSONDecodeError as err:
            raise ValueError(f"not an inference bench manifest (bad JSON: {err})") from err
