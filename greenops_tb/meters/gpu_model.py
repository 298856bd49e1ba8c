"""GPU power when NVML cannot measure it: the TDP, and the models built on it.

* :func:`gpu_tdp`: a GPU's TDP, from its enforced power limit (what NVML
  reports for this very board) or else the embedded table (Epoch AI's ML
  hardware table, see ``data/NOTICE``) matched on the NVML name by
  :func:`lookup_gpu_tdp`.
* :func:`gpu_model_after`: once NVML fails mid-run nothing more can be read
  from the GPU (not even its utilisation), so the best estimate is a constant
  power: the average the GPU drew while it was still measured
  (``model-gpu-avg``), or, when nothing was measured yet, its TDP
  (``model-gpu-tdp``, an upper bound).

Matching NVML names to the table: NVML says "NVIDIA H100 80GB HBM3",
"NVIDIA A100-SXM4-40GB" or "Tesla V100-SXM2-16GB" where the table says
"nvidia h100 sxm5 80gb", "nvidia a100 sxm4 40 gb", "nvidia tesla v100 sxm2 16 gb".
Both are cut into words (brand words "nvidia"/"tesla", HBM generations and
"gpu" dropped, "40 gb" joined, "pcle" read as "pcie"). A table row matches when
all its model words are in the name, its memory size (if both give one) is the
same and its form factor (PCIe, SXMn, NVL, DGXS, OAM) agrees with the name's. A
name without a form factor is an SXM board (NVIDIA names PCIe and NVL boards
as such, SXM ones often not), so SXM rows score higher than PCIe/NVL rows for
it. Laptop/Max-Q names only match rows that say so. The most specific row wins.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from greenops_tb.meters.base import Device, EnergySource
from greenops_tb.meters.constant import ConstantPowerSource
from greenops_tb.meters.cpu_info import embedded_table

_BRAND = frozenset({"nvidia", "tesla", "hgx", "gpu", "hbm2", "hbm2e", "hbm3", "hbm3e"})
#: words that name a product line, not a model: a row needs one more word than these
_FAMILY = frozenset({"geforce", "gtx", "rtx", "quadro", "radeon", "instinct", "data", "center"})
_VARIANT = frozenset({"laptop", "mobile", "maxq"})
_FORM = re.compile(r"pcie|nvl|dgxs|oam|sxm\d?\Z")
_MEMORY = re.compile(r"\d+gb\Z")
_SPLIT = re.compile(r"[\s()\-_/,]+")


def gpu_words(name: str) -> tuple[str, ...]:
    """The words of a GPU name that matching compares (see the module docstring)."""
    s = re.sub(r"max-?q", "maxq", name.lower())
    s = re.sub(r"(\d+)\s*gb\b", r"\1gb", s)
    words = ("pcie" if w == "pcle" else w for w in _SPLIT.split(s))
    return tuple(w for w in words if w and w not in _BRAND)


@dataclass(frozen=True, slots=True)
class _Row:
    key: str
    model: frozenset[str]  # every other word
    memory: str | None
    form: str | None

    @classmethod
    def of(cls, key: str) -> "_Row":
        words = gpu_words(key)
        memory = next((w for w in words if _MEMORY.match(w)), None)
        form = next((w for w in words if _FORM.match(w)), None)
        return cls(key, frozenset(w for w in words if w not in (memory, form)), memory, form)

    def score(self, words: frozenset[str], memory: str | None, form: str | None) -> float | None:
        """How specifically this row describes a GPU with these words; None when it does not."""
        if not self.model <= words or not self.model - _FAMILY or not (words & _VARIANT) <= self.model:
            return None
        score = float(len(self.model))
        if self.memory is not None and memory is not None:
            if self.memory != memory:
                return None
            score += 1
        if self.form is not None:
            if form is None:
                score += 1 if self.form.startswith("sxm") else -0.5
            elif _same_form(self.form, form):
                score += 1
            else:
                return None
        return score


def _same_form(a: str, b: str) -> bool:
    """Equal, or both SXM with one of them not saying which generation."""
    return a == b or (a.startswith("sxm") and b.startswith("sxm") and "sxm" in (a, b))


@functools.lru_cache(maxsize=4)
def _rows(keys: tuple[str, ...]) -> tuple[_Row, ...]:
    return tuple(_Row.of(k) for k in keys)


@functools.lru_cache(maxsize=128)
def match_gpu(name: str, keys: tuple[str, ...]) -> str | None:
    """The key of ``keys`` (table names of GPUs) that most specifically describes the NVML GPU ``name``,
    or None when none does (see the module docstring for the rules)."""
    words = gpu_words(name)
    memory = next((w for w in words if _MEMORY.match(w)), None)
    form = next((w for w in words if _FORM.match(w)), None)
    found = frozenset(words)
    best: tuple[float, int, str] | None = None
    for row in _rows(keys):
        score = row.score(found, memory, form)
        if score is not None and (best is None or (score, len(row.key), row.key) > best):
            best = (score, len(row.key), row.key)
    return best[2] if best is not None else None


def lookup_gpu_tdp(name: str) -> tuple[str, float] | None:
    """(matched table key, TDP in W) for an NVML GPU name, or None when no row describes it."""
    table = embedded_table("gpu_tdp.csv")
    key = match_gpu(name, tuple(table))
    return (key, table[key]) if key is not None else None


@dataclass(frozen=True, slots=True)
class GpuTdp:
    """A GPU's TDP and where it came from."""

    watts: float
    source: str  # "power-limit" or "table:<matched key>"


def gpu_tdp(name: str, power_limit_w: float | None) -> GpuTdp | None:
    """The enforced power limit when NVML gives it, else the table's TDP for ``name``, else None."""
    if power_limit_w:
        return GpuTdp(float(power_limit_w), "power-limit")
    found = lookup_gpu_tdp(name) if name else None
    return GpuTdp(found[1], f"table:{found[0]}") if found is not None else None


def gpu_model_after(device: Device, joules: float, seconds: float, power_limit_w: float | None) -> EnergySource | None:
    """The model source replacing a failed NVML source that measured ``joules`` over ``seconds``."""
    if seconds >= 1.0 and joules > 0:
        watts, label = joules / seconds, "model-gpu-avg"
    else:
        tdp = gpu_tdp(device.name, power_limit_w)
        if tdp is None:
            return None
        watts, label = tdp.watts, "model-gpu-tdp"
    return ConstantPowerSource({device.id: watts}, label=label, names={device.id: device.name})
