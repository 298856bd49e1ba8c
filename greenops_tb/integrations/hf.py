"""Hugging Face ``transformers`` callback: training, epochs, evaluation and prediction as stages.

    from greenops_tb.integrations.hf import GreenTrainerCallback
    trainer = Trainer(model, args, ..., callbacks=[GreenTrainerCallback(country="DE")])

Stages (names): ``train`` (the whole ``trainer.train()``), ``epoch`` (one per
epoch, ``epoch`` = the epoch number), ``evaluate`` (each evaluation, during
training or ``trainer.evaluate()``) and ``predict`` (``trainer.predict()``).
Records are labelled with ``state.global_step``. ``per_step=True`` adds one
record per optimizer step (``update("epoch")``); in distributed runs it costs
each rank what it costs a single process (ranks never communicate, see docs/distributed.md).

The Trainer has no "evaluation begins" event: an evaluation during training
starts when the flow says it will evaluate (``control.should_evaluate`` after a
step or epoch); otherwise at the first prediction step, named ``evaluate`` or
``predict`` from the Trainer method that runs it (the same call-stack rule as
the Trainer's own memory tracker). That first batch is then not measured.

Work units: every optimizer step counts this process's ``train_batch_size x gradient_accumulation_steps``
samples (the last batch of an epoch may hold fewer; each rank counts its own, and the job reads their sum)
and, with ``include_num_input_tokens_seen=True``, the tokens the Trainer saw (a job-wide count, so rank 0
counts it), into ``epoch`` and ``train``.

``watch_logs=("loss", "learning_rate")`` records the latest values the Trainer
logged (NaN until logged).

Distributed: the writer is created on every process, each writing its own rank shard into the same
directory (read as one run); the Trainer's own ``add_*`` calls through it are written by global rank 0,
as ``state.is_world_process_zero`` does for the Trainer's own reporting. Files go to ``<output_dir>/green`` by default, a run
named ``<output_dir's name>/green`` as TensorBoard shows it (``runs/hf/green``: ``hf/green``).
Extra: ``pip install greenops_tb[hf]``.
"""
from __future__ import annotations

import inspect
import math
import os
from typing import Any, Sequence

from greenops_tb.integrations.driver import StageDriver, default_run_name
from greenops_tb.writer import GreenSummaryWriter

try:
    from transformers import Trainer, TrainerCallback
except ImportError as err:  # pragma: no cover - exercised where transformers is missing
    raise ImportError("greenops_tb.integrations.hf needs transformers: pip install 'greenops_tb[hf]'") from err

_EVAL_STAGES = ("evaluate", "predict")


class GreenTrainerCallback(TrainerCallback):
    """Measures the Trainer's loops as GreenSummaryWriter stages."""

    def __init__(
        self,
        writer: GreenSummaryWriter | None = None,
        *,
        log_dir: str | None = None,
        per_step: bool = False,
        watch_logs: Sequence[str] = (),
        **writer_kwargs: Any,
    ) -> None:
        self._driver = StageDriver(writer, writer_kwargs)
        self._log_dir = log_dir
        self._per_step = per_step
        self._logs: dict[str, float] = {}
        self._tokens_seen = 0
        for name in watch_logs:
            self._driver.watch(name, self._log_getter(name))

    @property
    def writer(self) -> GreenSummaryWriter | None:
        return self._driver.writer

    def close(self) -> None:
        """Close the writer this callback created (also done at interpreter exit)."""
        self._driver.close()

    def _ensure(self, args: Any) -> None:
        log_dir = self._log_dir or os.path.join(args.output_dir, "green")
        self._driver.ensure_writer(log_dir, default_run_name(log_dir))

    def _log_getter(self, name: str):
        return lambda: self._logs.get(name, math.nan)

    # -- training ------------------------------------------------------------------------
    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._ensure(args)
        self._driver.start("train")

    def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._driver.start("epoch", epoch=int(state.epoch or 0))

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        tokens = int(getattr(state, "num_input_tokens_seen", 0) or 0)  # with include_num_input_tokens_seen=True
        samples = args.train_batch_size * args.gradient_accumulation_steps  # this rank's
        seen = max(0, tokens - self._tokens_seen) if state.is_world_process_zero else 0  # job-wide: counted once
        self._driver.count(("epoch", "train"), samples=samples, tokens=seen)
        self._tokens_seen = tokens
        if self._per_step:
            self._driver.update("epoch", step=state.global_step)
        if control.should_evaluate:
            self._driver.start("evaluate")

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._driver.stop("epoch", step=state.global_step)
        if control.should_evaluate:
            self._driver.start("evaluate")

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        for name in ("evaluate", "epoch", "train"):
            self._driver.stop(name, step=state.global_step)
        self._driver.flush()

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        for key, value in (logs or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self._logs[key] = float(value)

    # -- evaluation and prediction ---------------------------------------------------------
    def on_prediction_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not any(self._driver.running(n) for n in _EVAL_STAGES):
            self._ensure(args)
            self._driver.start(_calling_loop())

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._driver.stop("evaluate", step=state.global_step)

    def on_predict(self, args: Any, state: Any, control: Any, metrics: Any = None, **kwargs: Any) -> None:
        self._driver.stop("predict", step=state.global_step)


def _calling_loop() -> str:
    """``predict`` inside ``Trainer.predict``, else ``evaluate``."""
    frame = inspect.currentframe()
    try:
        while frame is not None:
            if frame.f_code.co_name in ("predict", "evaluate") and isinstance(frame.f_locals.get("self"), Trainer):
                return "predict" if frame.f_code.co_name == "predict" else "evaluate"
            frame = frame.f_back
        return "evaluate"
    finally:
        del frame
