"""The standard variants of a model, each built or refused with the reason why.

``standard(model, example)`` gives, in this order (the first is the baseline):

* ``eager``: ``model(*args)`` under ``torch.no_grad()``;
* ``inference_mode``: under ``torch.inference_mode()``;
* ``torchscript``: ``torch.jit.trace``, else ``torch.jit.script`` when tracing fails (under ``no_grad``);
* ``compile``: ``torch.compile(model)`` (built by its first call, so a compiler failure is caught here);
* ``autocast_bf16`` / ``autocast_fp16``: ``torch.autocast`` where the device supports that dtype;
* ``channels_last``: a copy of the model and the inputs in ``torch.channels_last`` (4-D inputs only).

A variant that does not apply or fails to build keeps its ``reason`` and is reported, never dropped.
"""
from __future__ import annotations

import copy
import functools
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Collection

import torch

Fn = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Variant:
    """A callable to bench with the input of one request (a tuple of args), or why it is not there."""

    name: str
    fn: Fn | None
    example: tuple[Any, ...]
    how: str
    reason: str = ""


def as_args(example: Any) -> tuple[Any, ...]:
    """A tensor -> ``(tensor,)``; a tuple or list -> a tuple of its items."""
    return tuple(example) if isinstance(example, (tuple, list)) else (example,)


def model_device(model: torch.nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _under(ctx: Callable[[], Any], fn: Fn) -> Fn:
    def call(*args: Any) -> Any:
        with ctx():
            return fn(*args)

    return call


def _reason(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:600]


def _torchscript(model: torch.nn.Module, args: tuple[Any, ...]) -> tuple[Fn, str]:
    with warnings.catch_warnings():  # TorchScript is deprecated in recent torch; the bench measures it still
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            with torch.no_grad():
                traced = torch.jit.trace(model, args if len(args) > 1 else args[0], check_trace=False)
            return traced, "torch.jit.trace"
        except Exception as trace_err:  # noqa: BLE001 - any tracing failure: try scripting
            try:
                return torch.jit.script(model), f"torch.jit.script (trace failed: {_reason(trace_err)})"
            except Exception as script_err:  # noqa: BLE001
                raise RuntimeError(f"trace failed ({_reason(trace_err)}); script failed ({_reason(script_err)})") \
                    from script_err


def _compiled(model: torch.nn.Module, args: tuple[Any, ...]) -> Fn:
    compiled = torch.compile(model)
    with torch.no_grad():
        compiled(*args)  # compiles now, so a missing compiler is a reason here, not a crash in the rounds
    return compiled


def _autocast_dtypes(device: torch.device) -> dict[str, tuple[torch.dtype | None, str]]:
    """name -> (dtype, "" when supported else why not)."""
    if device.type == "cuda":
        bf16 = torch.cuda.is_bf16_supported()
        return {"autocast_bf16": (torch.bfloat16, "" if bf16 else "this GPU has no bf16 support"),
                "autocast_fp16": (torch.float16, "")}
    if device.type == "cpu":
        return {"autocast_bf16": (torch.bfloat16, ""),
                "autocast_fp16": (None, "fp16 autocast on CPU is emulated (slow); not a serving choice")}
    return {"autocast_bf16": (None, f"not benched on {device.type}"),
            "autocast_fp16": (torch.float16, "")}


def _channels_last(model: torch.nn.Module, args: tuple[Any, ...]) -> Fn:
    if not any(isinstance(a, torch.Tensor) and a.dim() == 4 for a in args):
        raise ValueError("no 4-D input: channels_last applies to image-like (N, C, H, W) inputs")
    cl = copy.deepcopy(model).to(memory_format=torch.channels_last)  # type: ignore[call-overload]

    def call(*xs: Any) -> Any:
        xs = tuple(x.contiguous(memory_format=torch.channels_last)
                   if isinstance(x, torch.Tensor) and x.dim() == 4 else x for x in xs)
        with torch.no_grad():
            return cl(*xs)

    return call


def _try(name: str, how: str, args: tuple[Any, ...], build: Callable[[], Fn | tuple[Fn, str]]) -> Variant:
    try:
        built = build()
    except Exception as err:  # noqa: BLE001 - a variant that cannot be built is reported with why
        return Variant(name, None, args, how, _reason(err))
    fn, how = built if isinstance(built, tuple) else (built, how)
    return Variant(name, fn, args, how)


def standard(model: torch.nn.Module, example: Any, skip: Collection[str] = ()) -> list[Variant]:
    """The standard variants of ``model`` (put in eval mode) for ``example``, eager first; those named in
    ``skip`` are listed as not built ("left out (skip=)"), never silently dropped."""
    model.eval()
    args = as_args(example)
    device = model_device(model)
    builders: list[tuple[str, str, Callable[[], Fn | tuple[Fn, str]]]] = [
        ("eager", "model(x) under torch.no_grad()", lambda: _under(torch.no_grad, model)),
        ("inference_mode", "model(x) under torch.inference_mode()", lambda: _under(torch.inference_mode, model)),
        ("torchscript", "torch.jit.trace, else torch.jit.script", lambda: _torchscript(model, args)),
        ("compile", "torch.compile(model)", lambda: _compiled(model, args)),
    ]
    for name, (dtype, why) in _autocast_dtypes(device).items():
        how = f"torch.autocast({device.type!r}, dtype={dtype}) under torch.inference_mode()"
        builders.append((name, how, functools.partial(_autocast, model, device.type, dtype, why, args)))
    builders.append(("channels_last", "model and 4-D inputs in torch.channels_last, torch.no_grad()",
                     lambda: _channels_last(model, args)))
    unknown = set(skip) - {b[0] for b in builders}
    if unknown:
        raise ValueError(f"skip= names no standard variant: {sorted(unknown)}; "
                         f"the standard ones are {[b[0] for b in builders]}")
    return [Variant(name, None, args, how, "left out (skip=)") if name in skip else _try(name, how, args, build)
            for name, how, build in builders]


def _autocast(model: torch.nn.Module, device_type: str, dtype: torch.dtype | None, unsupported: str,
              example: tuple[Any, ...]) -> Fn:
    if unsupported or dtype is None:
        raise ValueError(unsupported or "not supported")

    def call(*args: Any) -> Any:
        with torch.inference_mode(), torch.autocast(device_type, dtype=dtype):
            return model(*args)

    call(*example)  # one call: a dtype the device's kernels lack fails here
    return call
