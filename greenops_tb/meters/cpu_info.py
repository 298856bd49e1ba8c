"""CPU model string -> TDP, from the embedded table (see ``data/NOTICE``).

The model CPU source needs one number: the package's thermal design power.
It comes, in order, from the ``tdp_w`` argument or the ``GREENOPS_CPU_TDP_W``
environment variable, the embedded table
(CodeCarbon's ``cpu_power.csv``, built by ``scripts/build_hardware_tables.py``)
matched on the model string, or :data:`DEFAULT_W_PER_LOGICAL_CPU` x logical CPUs.

Matching: both sides are normalised (lower case, trademarks, "CPU",
"Processor", clock speed and core-count words dropped); an exact match wins,
else the longest table name found as a contiguous run of words in the model
string, provided it names a model number (has a digit). A bare family name
such as "AMD EPYC" (what many VMs report) matches nothing, so the documented
default applies and the provenance says so.
"""
from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from importlib import resources

from greenops_tb.errors import DataError, UsageError

#: Per logical CPU, used when the model is unknown. 10 W: the TDP per thread of
#: common server parts is 2-6 W and of desktop/laptop parts 3-15 W; erring high keeps
#: an unknown CPU from looking greener than it is. Override with ``GREENOPS_CPU_TDP_W``.
DEFAULT_W_PER_LOGICAL_CPU = 10.0

#: Environment variable overriding the CPU TDP (watts) for the model CPU source.
TDP_ENV = "GREENOPS_CPU_TDP_W"

_DROP = re.compile(
    r"\((?:r|tm|c)\)|®|™|\bcpu\b|\bprocessor\b|@\s*[\d.]+\s*[gm]hz|\b[\d.]+\s*[gm]hz\b|"
    r"\b\d+-core\b|\bwith radeon.*$|\bw/ radeon.*$|,",
    re.IGNORECASE,
)


def normalise_model(name: str) -> str:
    """Canonical form of a CPU/GPU model string for table look-ups."""
    return " ".join(_DROP.sub(" ", name.lower()).split())


@dataclass(frozen=True, slots=True)
class CpuTdp:
    """The TDP used for the CPU model and how it was found."""

    model: str
    tdp_w: float
    source: str  # "argument", "table:<matched name>", "default <W>/logical cpu x <n>"


def cpu_model() -> str:
    """The CPU model string of this machine ("" when unknown)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or ""


def logical_cpus() -> int:
    return os.cpu_count() or 1


@functools.lru_cache(maxsize=2)
def embedded_table(name: str) -> dict[str, float]:
    """Normalised model key -> TDP of the embedded table ``data/<name>``. Keys hold no commas."""
    text = resources.files("greenops_tb.meters").joinpath("data", name).read_text(encoding="utf-8")
    lines = text.splitlines()
    if not lines or lines[0] != "key,tdp_w":
        raise DataError(f"corrupt embedded table {name}: expected header 'key,tdp_w'; reinstall greenops_tb")
    return {k: float(v) for k, v in (line.rsplit(",", 1) for line in lines[1:] if line)}


def lookup_tdp(model: str, table: str = "cpu_tdp.csv") -> tuple[str, float] | None:
    """(matched table key, TDP in W) for ``model``, or None when nothing specific matches."""
    return _lookup(normalise_model(model), table)


@functools.lru_cache(maxsize=64)
def _lookup(key: str, table: str) -> tuple[str, float] | None:
    rows = embedded_table(table)
    if key in rows:
        return key, rows[key]
    # the longest table key that is a contiguous run of the model's words and names a model number
    words = key.split()
    best: str | None = None
    for i in range(len(words)):
        for j in range(len(words), i, -1):
            k = " ".join(words[i:j])
            if k in rows and any(c.isdigit() for c in k):
                if best is None or len(k) > len(best):
                    best = k
                break
    return (best, rows[best]) if best is not None else None


def resolve_cpu_tdp(tdp_w: float | None = None, model: str | None = None, cpus: int | None = None) -> CpuTdp:
    """The CPU TDP to model with: argument, table, or documented per-CPU default."""
    model = cpu_model() if model is None else model
    if tdp_w is None and os.environ.get(TDP_ENV):
        try:
            tdp_w = float(os.environ[TDP_ENV])
        except ValueError:
            raise UsageError(f"{TDP_ENV}={os.environ[TDP_ENV]!r} is not a number of watts; fix or unset it") from None
    if tdp_w is not None:
        if not tdp_w > 0:
            raise UsageError(f"the CPU TDP must be a positive number of watts, got {tdp_w!r}")
        return CpuTdp(model, float(tdp_w), "argument")
    found = lookup_tdp(model) if model else None
    if found is not None:
        return CpuTdp(model, found[1], f"table:{found[0]}")
    n = logical_cpus() if cpus is None else cpus
    return CpuTdp(model, DEFAULT_W_PER_LOGICAL_CPU * n, f"default {DEFAULT_W_PER_LOGICAL_CPU:g} W/logical cpu x {n}")
