"""What every dashboard callback looks up on the trainer: the TensorBoard writer, class names, input normalisation.

Dashboards are extras: with no logger, another logger (CSV, W&B), or on a non-zero rank they do
nothing instead of failing, so removing TensorBoard from a config never breaks a run.
"""

from collections.abc import Sequence
from pathlib import Path

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger
from torch.utils.tensorboard import SummaryWriter


def tensorboard_logger(trainer: L.Trainer) -> TensorBoardLogger | None:
    """The first TensorBoardLogger among the trainer's loggers, on rank 0 only."""
    if not trainer.is_global_zero:
        return None
    return next((logger for logger in trainer.loggers if isinstance(logger, TensorBoardLogger)), None)


def tensorboard_writer(trainer: L.Trainer) -> SummaryWriter | None:
    """The SummaryWriter of that logger (created on first use, as Lightning does), or None."""
    logger = tensorboard_logger(trainer)
    return None if logger is None else logger.experiment


def class_names(trainer: L.Trainer, num_classes: int) -> list[str]:
    """The data module's `class_names` when it has as many as the model has classes, else "0", "1", ..."""
    names = getattr(trainer.datamodule, "class_names", None)
    if names is not None and len(names) == num_classes:
        return [str(name) for name in names]
    return [str(i) for i in range(num_classes)]


def normalisation(trainer: L.Trainer) -> tuple[Sequence[float] | None, Sequence[float] | None]:
    """The data module's per-channel `mean` and `std` (what `Normalize` used), or (None, None)."""
    return getattr(trainer.datamodule, "mean", None), getattr(trainer.datamodule, "std", None)


def run_folder(trainer: L.Trainer) -> Path | None:
    """The logger's run folder on rank 0 (where test files are written), or None without a logger.

    The logger's `log_dir`, not `trainer.log_dir`: that one is a collective call, and only rank 0 asks.
    """
    if not trainer.is_global_zero or trainer.logger is None or trainer.logger.log_dir is None:
        return None
    folder = Path(trainer.logger.log_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
