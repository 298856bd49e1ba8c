"""Embodied (manufacturing) emissions of the hardware a run occupies, amortised by occupancy.

For each device the process uses::

    embodied kgCO2e = device-hours x kgCO2e(device) / (lifetime hours x utilisation)

``kgCO2e(device)`` comes from the embedded table (a GPU matched on its NVML name like the TDP table,
see :func:`greenops_tb.meters.gpu_model.match_gpu`), else the labelled class average, else "unknown";
never a silent zero. The host (CPUs, memory, storage, chassis of a GPU server) is one more part:
the class-average node, of which a process using ``n`` GPUs occupies ``n / host_gpus``. A CPU-only
host has no published class figure here: it is "unknown" unless ``host_kgco2e`` is given.

Defaults (``lifetime_years`` 6, ``utilisation`` 0.85, ``host_gpus`` 8) are the BLOOM paper's
(Luccioni et al. 2023); ``embodied_options=`` overrides each.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from greenops_tb.errors import UsageError
from greenops_tb.footprint.tables import EmbodiedFigure, embodied_table
from greenops_tb.meters.gpu_model import match_gpu

HOURS_PER_YEAR = 8760.0  # 365 days
HOST = "host"  #: the id of the host part in records
UNKNOWN = "unknown"

_OPTION_KEYS = ("lifetime_years", "utilisation", "gpu_kgco2e", "host_kgco2e", "host_share")


@dataclass(frozen=True, slots=True)
class EmbodiedOptions:
    """What ``embodied_options=`` sets; None means the documented default."""

    lifetime_years: float | None = None
    utilisation: float | None = None
    gpu_kgco2e: float | None = None  # every GPU's figure (kgCO2e per GPU)
    host_kgco2e: float | None = None  # the whole host's figure (kgCO2e), also for CPU-only hosts
    host_share: float | None = None  # hosts this run occupies (default: GPUs used / 8; 1.0 = one whole machine)

    @classmethod
    def of(cls, options: Mapping[str, Any] | None) -> EmbodiedOptions:
        """Validated options from a mapping; ValueError naming the bad key and what is allowed."""
        options = dict(options or {})
        unknown = sorted(set(options) - set(_OPTION_KEYS))
        if unknown:
            raise UsageError(f"embodied_options: unknown key(s) {unknown}; allowed: {', '.join(_OPTION_KEYS)}")
        for key, value in options.items():
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise UsageError(f"embodied_options[{key!r}] must be a number, got {value!r}")
            low_ok = value >= 0 if key.endswith("kgco2e") else value > 0
            if not low_ok or (key == "utilisation" and value > 1):
                allowed = {"lifetime_years": "> 0 years", "utilisation": "in (0, 1]", "host_share": "> 0 hosts"}
                raise UsageError(f"embodied_options[{key!r}] must be {allowed.get(key, '>= 0 kgCO2e')}, got {value!r}")
        return cls(**{k: None if v is None else float(v) for k, v in options.items()})

    def lifetime(self) -> float:
        return self.lifetime_years if self.lifetime_years is not None else embodied_table().defaults["lifetime_years"]

    def busy(self) -> float:
        return self.utilisation if self.utilisation is not None else embodied_table().defaults["utilisation"]

    def busy_hours(self) -> float:
        """Lifetime hours x utilisation: the hours the embodied emissions are spread over."""
        return self.lifetime() * HOURS_PER_YEAR * self.busy()


@dataclass(frozen=True, slots=True)
class EmbodiedPart:
    """One device's (or the host's) embodied figure for this run, and where it came from."""

    id: str  # "gpu:0", ..., or "host"
    name: str  # device name as measured ("NVIDIA H100 80GB HBM3"), "" for the host
    kgco2e: float | None  # this process's share of the part's embodied emissions; None: unknown
    label: str  # "table:<key>", "class-average:<class>", "argument", "unknown"
    source: str  # publication, or why unknown

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kgco2e": self.kgco2e, "label": self.label, "source": self.source}


def amortised_kg(kgco2e: float, device_hours: float, busy_hours: float) -> float:
    """``device_hours x kgco2e / busy_hours`` (busy hours = lifetime hours x utilisation)."""
    return device_hours * kgco2e / busy_hours


def _cite(f: EmbodiedFigure, share: float = 1.0) -> str:
    part = "" if share == 1.0 else f", x {share:g} node-equivalents"
    return f"{f.product}: {f.figure} ({f.scope}{part}); {f.source}; confidence {f.confidence}"


def _gpu_part(device_id: str, name: str, opts: EmbodiedOptions) -> EmbodiedPart:
    if opts.gpu_kgco2e is not None:
        return EmbodiedPart(device_id, name, opts.gpu_kgco2e, "argument", "embodied_options['gpu_kgco2e']")
    table = embodied_table()
    key = match_gpu(name, tuple(table.gpus)) if name else None
    if key is not None:
        f = table.gpus[key]
        return EmbodiedPart(device_id, name, f.kgco2e, f"table:{key}", _cite(f))
    f = table.classes["gpu"]
    return EmbodiedPart(device_id, name, f.kgco2e, "class-average:gpu",
                        f"no table row for {name or 'this GPU'!r}; " + _cite(f))


def _host_part(n_gpus: int, opts: EmbodiedOptions) -> EmbodiedPart:
    table = embodied_table()
    node_gpus = table.defaults["host_gpus"]
    if opts.host_share is not None:
        share = opts.host_share
    elif n_gpus:
        share = n_gpus / node_gpus  # node-equivalents: 16 GPUs of a job occupy two 8-GPU nodes
    else:
        share = 1.0
    if opts.host_kgco2e is not None:
        return EmbodiedPart(HOST, "", opts.host_kgco2e * share, "argument",
                            f"embodied_options['host_kgco2e'] x share {share:g}")
    if not n_gpus:
        return EmbodiedPart(HOST, "", None, UNKNOWN,
                            "no published figure for a CPU-only host in the table; "
                            "pass embodied_options={'host_kgco2e': <kgCO2e of the machine>}")
    f = table.classes["host"]
    return EmbodiedPart(HOST, "", f.kgco2e * share, "class-average:host", _cite(f, share))


def embodied_parts(devices: Iterable[Any], options: EmbodiedOptions) -> tuple[EmbodiedPart, ...]:
    """The parts of the hardware this run occupies: each GPU (``device.kind == "gpu"``), then the host.

    ``devices`` are :class:`greenops_tb.meters.base.Device`-like (``id``, ``kind``, ``name``); CPU and RAM
    devices are parts of the host, not separate entries.
    """
    gpus = [_gpu_part(d.id, d.name, options) for d in devices if d.kind == "gpu"]
    return (*gpus, _host_part(len(gpus), options))
