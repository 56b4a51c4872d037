"""Show the confusion matrix in TensorBoard's Images tab after every validation epoch and after testing."""

import functools
from collections.abc import Sequence

import lightning as L
import numpy as np
import torch

from litlab.callbacks.figure_output import draw, log_pixels
from litlab.callbacks.figures import confusion_figure
from litlab.callbacks.lookup import class_names, tensorboard_writer


def confusion_title(stage: str, matrix: torch.Tensor, epoch: int | None = None) -> str:
    """'val confusion matrix, epoch 3: accuracy 0.8312' (no epoch for the test)."""
    accuracy = matrix.diagonal().sum() / matrix.sum().clamp_min(1)
    when = f", epoch {epoch}" if epoch is not None else ""
    return f"{stage} confusion matrix{when}: accuracy {accuracy:.4f}"


def confusion_pixels(matrix: torch.Tensor, names: Sequence[str], title: str) -> np.ndarray:
    """The drawn figure of `confusion_figure` as (height, width, 3) uint8. The last one drawn is kept: after a
    test, TensorBoard's image (ConfusionMatrixFigure) and confusion_matrix.png (TestReport) are one drawing."""
    counts = tuple(map(tuple, matrix.detach().cpu().to(torch.int64).tolist()))  # hashable, for the cache
    return _drawn(counts, tuple(names), title)


@functools.lru_cache(maxsize=1)
def _drawn(counts: tuple[tuple[int, ...], ...], names: tuple[str, ...], title: str) -> np.ndarray:
    pixels = draw(confusion_figure(torch.tensor(counts), names, title))
    pixels.flags.writeable = False  # shared by the callers
    return pixels


class ConfusionMatrixFigure(L.Callback):
    """Logs `pl_module.confusion[stage]` (kept by ClassificationTask) as `<stage>/confusion_matrix`.

    Rows are true classes normalised to sum to 1, so the diagonal reads as per-class recall whatever
    the class balance. Hooks are the `*_end` ones because the task fills `confusion` in its own
    `on_*_epoch_end`, which Lightning calls after the callbacks' hook of the same name.

    Args:
        every_n_epochs: draw the validation matrix every this many epochs (and always after the last
            one). Rendering takes a fraction of a second on a CPU; raise this when epochs are that short.
    """

    def __init__(self, every_n_epochs: int = 1) -> None:
        self.every_n_epochs = every_n_epochs

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        epoch = trainer.current_epoch
        last = (trainer.max_epochs or -1) > 0 and epoch + 1 >= trainer.max_epochs
        if not trainer.sanity_checking and (last or (epoch + 1) % self.every_n_epochs == 0):
            self._log(trainer, pl_module, "val")

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._log(trainer, pl_module, "test")

    def _log(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        matrix = getattr(pl_module, "confusion", {}).get(stage)
        writer = tensorboard_writer(trainer)
        if matrix is None or writer is None:
            return
        title = confusion_title(stage, matrix, trainer.current_epoch if stage == "val" else None)
        pixels = confusion_pixels(matrix, class_names(trainer, len(matrix)), title)
        log_pixels(writer, f"{stage}/confusion_matrix", pixels, trainer.global_step)
