"""Weight and gradient histograms every N epochs, for diagnosing dead layers and exploding or vanishing gradients.

Off by default (not in the shipped configs): each histogram copies a parameter to the host. Add it with

    - class_path: litlab.callbacks.ParamHistograms
      init_args: {every_n_epochs: 5}
"""

from typing import Any

import lightning as L
import torch

from litlab.callbacks.lookup import tensorboard_writer


class ParamHistograms(L.Callback):
    """Logs `weights/<param>` and `grads/<param>` at the first optimizer step of every `every_n_epochs`-th epoch.

    Gradients are read in `on_before_optimizer_step`, after Lightning has unscaled them under mixed
    precision and before the optimizer consumes them.

    Args:
        every_n_epochs: epoch interval, counted from the first epoch.
    """

    def __init__(self, every_n_epochs: int = 1) -> None:
        self.every_n_epochs = every_n_epochs
        self._logged_epoch = -1

    def on_before_optimizer_step(
        self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer: torch.optim.Optimizer, *args: Any
    ) -> None:
        epoch = trainer.current_epoch
        if epoch == self._logged_epoch or epoch % self.every_n_epochs:
            return
        self._logged_epoch = epoch
        writer = tensorboard_writer(trainer)
        if writer is None:
            return
        for name, param in pl_module.named_parameters():
            writer.add_histogram(f"weights/{name}", param.detach(), global_step=trainer.global_step)
            if param.grad is not None:
                writer.add_histogram(f"grads/{name}", param.grad.detach(), global_step=trainer.global_step)
