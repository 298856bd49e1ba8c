"""PyTorch Lightning callback: fit, train epochs, validation, test and predict as stages.

    from greenops_tb.integrations.lightning import GreenCallback
    trainer = lightning.pytorch.Trainer(callbacks=[GreenCallback(country="DE")])

Stages (names): ``fit`` (whole ``trainer.fit``), ``train`` (one per epoch,
``epoch`` = ``trainer.current_epoch``; Lightning runs the epoch-end validation
inside the training epoch, so ``train`` overlaps ``validate``), ``validate``
(each validation loop, in or out of ``fit``), ``sanity_check`` (the sanity
validation before fit), ``test`` and ``predict``. Records are labelled with
``trainer.global_step``. ``per_batch=True`` adds one record per training batch
(``update("train")``); in distributed runs it costs each rank what it costs a single
process (ranks never communicate, see docs/distributed.md).

Work units: each training batch's size (found as Lightning's logging finds it) is counted as samples of
``train`` and ``fit``, by each rank for its own batches (the job reads their sum).

``watch_metrics=("train_loss",)`` records entries of
``trainer.callback_metrics`` with every record (NaN until logged).

Distributed: the writer is created in ``setup`` on every process, each writing its own rank shard into
the same directory (read as one run; see docs/distributed.md). Files go to ``<logger.log_dir>/green``
(default), a run of its own next to the logger's, named as TensorBoard shows it
(``lightning_logs/version_0/green``: ``version_0/green``).

Works with the ``lightning`` package and with the older ``pytorch_lightning``
(whichever is installed; ``lightning`` first). Extra: ``pip install greenops_tb[lightning]``.
"""
from __future__ import annotations

import math
import os
from typing import Any, Sequence

from greenops_tb.integrations.driver import StageDriver, default_run_name
from greenops_tb.writer import GreenSummaryWriter

try:
    from lightning.pytorch import Callback
except ImportError:  # pragma: no cover - exercised where only pytorch_lightning is installed
    try:
        from pytorch_lightning import Callback  # type: ignore[assignment]
    except ImportError as err:
        raise ImportError(
            "greenops_tb.integrations.lightning needs PyTorch Lightning: pip install 'greenops_tb[lightning]'"
        ) from err


def default_log_dir(trainer: Any) -> str:
    """``<logger.log_dir>/green`` when the trainer has a logger with a log dir, else ``<default_root_dir>/green``."""
    logger_dir = getattr(getattr(trainer, "logger", None), "log_dir", None)
    return os.path.join(logger_dir or trainer.default_root_dir, "green")



class GreenCallback(Callback):
    """Measures Lightning's loops as GreenSummaryWriter stages."""

    def __init__(
        self,
        writer: GreenSummaryWriter | None = None,
        *,
        log_dir: str | None = None,
        per_batch: bool = False,
        watch_metrics: Sequence[str] = (),
        **writer_kwargs: Any,
    ) -> None:
        self._driver = StageDriver(writer, writer_kwargs)
        self._log_dir = log_dir
        self._per_batch = per_batch
        self._metrics = tuple(watch_metrics)
        self._watching = False

    @property
    def writer(self) -> GreenSummaryWriter | None:
        return self._driver.writer

    def close(self) -> None:
        """Close the writer this callback created (also done at interpreter exit)."""
        self._driver.close()

    # -- set-up / tear-down ---------------------------------------------------------
    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        if not self._watching:  # setup runs again for a later trainer.test() etc.
            self._watching = True
            for name in self._metrics:
                self._driver.watch(name, _metric_getter(trainer, name))
        log_dir = self._log_dir or default_log_dir(trainer)
        self._driver.ensure_writer(log_dir, default_run_name(log_dir))

    def teardown(self, trainer: Any, pl_module: Any, stage: str) -> None:
        self._driver.flush()

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self._driver.close()

    # -- fit and training epochs ------------------------------------------------------
    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        self._driver.start("fit")

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        self._driver.stop("fit", step=trainer.global_step)

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self._driver.start("train", epoch=trainer.current_epoch)

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        n = _batch_size(batch)  # this rank's batch: the job's samples are the ranks' sum
        self._driver.count(("train", "fit"), samples=n)
        if self._per_batch:
            self._driver.update("train", step=trainer.global_step)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self._driver.stop("train", step=trainer.global_step)

    # -- evaluation loops ----------------------------------------------------------------
    def on_validation_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self._driver.start(_validation_stage(trainer))

    def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self._driver.stop(_validation_stage(trainer), step=trainer.global_step)

    def on_test_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self._driver.start("test")

    def on_test_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self._driver.stop("test", step=trainer.global_step)

    def on_predict_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self._driver.start("predict")

    def on_predict_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self._driver.stop("predict", step=trainer.global_step)


def _batch_size(batch: Any) -> int | None:
    """The batch's size as Lightning's own logging finds it (None when it cannot tell)."""
    from lightning.pytorch.utilities.data import extract_batch_size

    try:
        return int(extract_batch_size(batch))
    except (RecursionError, ValueError, TypeError):
        return None


def _validation_stage(trainer: Any) -> str:
    return "sanity_check" if trainer.sanity_checking else "validate"


def _metric_getter(trainer: Any, name: str):
    def get() -> float:
        value = trainer.callback_metrics.get(name)
        return math.nan if value is None else float(value)

    return get
