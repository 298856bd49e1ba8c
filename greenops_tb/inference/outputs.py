"""Batches built from one request's input, and outputs compared with the baseline's under a tolerance."""
from __future__ import annotations

import math
from typing import Any, Iterator

import torch

from greenops_tb.format.bench import Tolerance


def batch_of(args: tuple[Any, ...], batch_size: int) -> tuple[Any, ...]:
    """``args`` with every tensor's leading dimension cycled to ``batch_size`` rows (other args as they are)."""
    out = []
    for a in args:
        if isinstance(a, torch.Tensor) and a.dim() >= 1 and a.shape[0] > 0:
            idx = torch.arange(batch_size, device=a.device) % a.shape[0]
            a = a.index_select(0, idx)
        out.append(a)
    return tuple(out)


def tensors(value: Any) -> Iterator[torch.Tensor]:
    """Every tensor of an output (a tensor, or tuples, lists, dicts and dataclass-likes of them), in order."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for k in value:
            yield from tensors(value[k])
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from tensors(v)
    elif hasattr(value, "__dict__"):  # e.g. a Hugging Face ModelOutput
        yield from tensors(vars(value))


def snapshot(value: Any) -> list[torch.Tensor]:
    """An output's tensors, detached, as float64 on the CPU (what :func:`compare` takes)."""
    return [t.detach().to("cpu", torch.float64) for t in tensors(value)]


def compare(out: list[torch.Tensor], base: list[torch.Tensor], tol: Tolerance) -> tuple[bool, float, float, str]:
    """(outputs match, max abs diff, max rel diff, note) of ``out`` against the baseline's ``base``.

    The relative difference is the max absolute difference over the baseline's largest magnitude.
    """
    if len(out) != len(base):
        return False, math.inf, math.inf, f"{len(out)} output tensors, the baseline has {len(base)}"
    shapes = [(tuple(a.shape), tuple(b.shape)) for a, b in zip(out, base) if a.shape != b.shape]
    if shapes:
        return False, math.inf, math.inf, f"output shape {shapes[0][0]}, the baseline's {shapes[0][1]}"
    if not base:
        return True, 0.0, 0.0, "no output tensors to compare"
    diff = max((float((a - b).abs().max()) if a.numel() else 0.0) for a, b in zip(out, base))
    scale = max((float(b.abs().max()) if b.numel() else 0.0) for b in base)
    close = all(torch.allclose(a, b, rtol=tol.rtol, atol=tol.atol, equal_nan=True) for a, b in zip(out, base))
    rel = diff / scale if scale > 0 else (0.0 if diff == 0 else math.inf)
    return close, diff, rel, ""
