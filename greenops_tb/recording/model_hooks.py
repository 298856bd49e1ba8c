"""Forward/backward attribution of a stage's time and energy (``writer.watch_model``).

:func:`attach` hooks a model so that, inside a stage, the time and energy of
its forward passes and of its backward passes are measured at the pass
boundaries with the writer's own meter (all devices summed):

* forward: a forward pre-hook and a forward hook on the outermost module
  (nested or re-entrant calls count once);
* backward: starts when the first gradient reaches one of the model's outputs
  (a tensor hook) and ends when autograd finishes the whole backward pass (an
  engine callback), so parameter gradients of the first layer are included.

Per stage the totals are recorded as watched values, cumulative within the
stage like its ``stage_*`` totals: ``<stage>.forward_s``,
``<stage>.forward_kwh``, ``<stage>.backward_s``, ``<stage>.backward_kwh``
(and ``<stage>.steps`` with ``count_steps=True``: one step per forward in
training mode with gradients enabled). Whatever the stage spent outside them
(data loading, loss, optimizer step) is ``stage total - forward - backward``.

``stage=None`` attributes to every stage open at the pass (as overlapping
stages each see the energy spent while they are open); a named stage counts
only while that stage is open. With ``sync_cuda`` (default) CUDA is
synchronised at each boundary while CUDA is initialised, so asynchronous
kernels are charged to the pass that launched them (this serialises the host
with the GPU four times per step; turn it off for throughput).

``torch.compile``'d modules are hooked on the compiled wrapper (the hooks run
eagerly around the compiled code, no graph breaks); DDP-wrapped modules on
their inner ``.module``. :meth:`ModelHooks.remove` removes every hook and
stops the watched values.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import torch
from torch import nn

from greenops_tb.errors import UsageTypeError
from greenops_tb.format.units import kwh

if TYPE_CHECKING:
    from greenops_tb.writer import GreenSummaryWriter



@dataclass(slots=True)
class PassTotals:
    """Cumulative time and energy of the forward and backward passes within one stage."""

    forward_s: float = 0.0
    forward_j: float = 0.0
    backward_s: float = 0.0
    backward_j: float = 0.0
    steps: int = 0


def _target(model: nn.Module) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise UsageTypeError(f"watch_model needs a torch.nn.Module, got {type(model).__name__}")
    inner = getattr(model, "module", None)
    if isinstance(model, nn.parallel.DistributedDataParallel | nn.DataParallel) and isinstance(inner, nn.Module):
        return inner  # the wrapper's hooks would run outside its gradient hooks; the inner module sees the passes
    return model


def _tensors(out: Any) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out] if out.requires_grad else []
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _tensors(o)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in _tensors(o)]
    return []


class ModelHooks:
    """The hooks of one watched model; :meth:`remove` undoes everything."""

    def __init__(
        self,
        writer: "GreenSummaryWriter",
        model: nn.Module,
        stage: str | None = None,
        *,
        count_steps: bool = False,
        sync_cuda: bool = True,
    ) -> None:
        self.module = _target(model)
        self._writer = writer
        self._read = writer.meter.read
        self._stage = stage
        self._count_steps = count_steps
        self._sync = sync_cuda
        self._lock = threading.Lock()
        self._totals: dict[str, PassTotals] = {}
        self._watched: list[str] = []
        self._local = threading.local()  # forward depth and start, per thread
        self._bwd: tuple[float, float, list[str]] | None = None
        self._removed = False
        self._handles = [
            self.module.register_forward_pre_hook(self._forward_pre),
            self.module.register_forward_hook(self._forward_post),
        ]
        if stage is not None:
            self._totals_for(stage)

    # -- measurement ------------------------------------------------------------------
    def _now(self) -> tuple[float, float]:
        if self._sync and torch.cuda.is_initialized():
            torch.cuda.synchronize()
        r = self._read()
        return r.t_mono, sum(r.joules)

    def _stages(self) -> list[str]:
        open_ = self._writer.open_stages()
        if self._stage is None:
            return open_
        return [self._stage] if self._stage in open_ else []

    def _totals_for(self, stage: str) -> PassTotals:
        tot = self._totals.get(stage)
        if tot is None:
            tot = self._totals[stage] = PassTotals()
            names = {
                "forward_s": lambda: tot.forward_s,
                "forward_kwh": lambda: kwh(tot.forward_j),
                "backward_s": lambda: tot.backward_s,
                "backward_kwh": lambda: kwh(tot.backward_j),
            }
            if self._count_steps:
                names["steps"] = lambda: float(tot.steps)
            for key, getter in names.items():
                self._watch(f"{stage}.{key}", getter, stage)
        return tot

    def _watch(self, name: str, getter: Callable[[], float], stage: str) -> None:
        self._writer.watch(name, getter, stage=stage)
        self._watched.append(name)

    def _add(self, stages: list[str], forward: bool, t0: float, j0: float, step: bool = False) -> None:
        t1, j1 = self._now()
        with self._lock:
            if self._removed:
                return
            for s in stages:
                tot = self._totals_for(s)
                if forward:
                    tot.forward_s += t1 - t0
                    tot.forward_j += j1 - j0
                    tot.steps += step
                else:
                    tot.backward_s += t1 - t0
                    tot.backward_j += j1 - j0

    # -- hooks ------------------------------------------------------------------------
    def _forward_pre(self, module: nn.Module, args: Any) -> None:
        depth = getattr(self._local, "depth", 0)
        self._local.depth = depth + 1
        if depth == 0:
            stages = self._stages()
            self._local.start = (*self._now(), stages) if stages else None

    def _forward_post(self, module: nn.Module, args: Any, output: Any) -> None:
        self._local.depth -= 1
        start = self._local.start if self._local.depth == 0 else None
        if start is None:
            return
        self._local.start = None
        t0, j0, stages = start
        grad = torch.is_grad_enabled()
        self._add(stages, True, t0, j0, step=grad and module.training)
        if grad:
            for t in _tensors(output):
                t.register_hook(self._backward_start)

    def _backward_start(self, grad: torch.Tensor) -> None:
        with self._lock:
            if self._bwd is not None or self._removed:
                return  # this backward pass is already being timed
            stages = self._stages()
            if not stages:
                return
            self._bwd = (*self._now(), stages)
        torch.autograd.Variable._execution_engine.queue_callback(self._backward_end)

    def _backward_end(self) -> None:
        with self._lock:
            bwd, self._bwd = self._bwd, None
        if bwd is not None:
            self._add(bwd[2], False, bwd[0], bwd[1])

    # -- results ------------------------------------------------------------------------
    def totals(self, stage: str) -> PassTotals:
        """A copy of the cumulative forward/backward totals of ``stage``."""
        with self._lock:
            t = self._totals.get(stage, PassTotals())
            return PassTotals(t.forward_s, t.forward_j, t.backward_s, t.backward_j, t.steps)

    def remove(self) -> None:
        """Remove every hook and stop recording the watched values (idempotent)."""
        with self._lock:
            if self._removed:
                return
            self._removed = True
        for h in self._handles:
            h.remove()
        for name in self._watched:
            self._writer.unwatch(name)
        self._handles, self._watched = [], []

    def __enter__(self) -> "ModelHooks":
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def attach(
    writer: "GreenSummaryWriter",
    model: nn.Module,
    stage: str | None = None,
    *,
    count_steps: bool = False,
    sync_cuda: bool = True,
) -> ModelHooks:
    """Hook ``model`` so its forward/backward passes are attributed within ``stage`` (see module doc)."""
    return ModelHooks(writer, model, stage, count_steps=count_steps, sync_cuda=sync_cuda)
