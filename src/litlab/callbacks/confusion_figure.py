"""Show the confusion matrix in TensorBoard's Images tab after every validation epoch and after testing."""

import lightning as L

from litlab.callbacks.figures import confusion_figure
from litlab.callbacks.lookup import class_names, tensorboard_writer


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
        accuracy = matrix.diagonal().sum() / matrix.sum().clamp_min(1)
        when = f", epoch {trainer.current_epoch}" if stage == "val" else ""
        title = f"{stage} confusion matrix{when}: accuracy {accuracy:.3f}"
        figure = confusion_figure(matrix, class_names(trainer, len(matrix)), title)
        writer.add_figure(f"{stage}/confusion_matrix", figure, global_step=trainer.global_step)
