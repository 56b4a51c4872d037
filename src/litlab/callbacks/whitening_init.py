"""Set data-dependent first-layer weights (patch whitening) before training starts.

Runs in `on_fit_start`, after the model is on its device and before the first step. A run resumed from a
checkpoint is left alone: its weights, whitening included, come from the checkpoint. Under DDP, rank 0
draws the images and broadcasts them, and every rank computes the same weights from them.
"""

import lightning as L
import torch
from lightning.pytorch.utilities.rank_zero import rank_zero_warn


def first_images(loader: torch.utils.data.DataLoader, count: int) -> torch.Tensor:
    """The first `count` images (on the CPU) that `loader` yields as `(images, labels)` batches or bare tensors."""
    taken, total = [], 0
    for batch in loader:
        images = batch[0] if isinstance(batch, list | tuple) else batch
        taken.append(images[: count - total].cpu())
        total += len(taken[-1])
        if total >= count:
            break
    return torch.cat(taken)


class WhiteningInit(L.Callback):
    """Calls `pl_module.backbone.init_whitening(images)` with `num_images` training images on a fresh fit.

    The images come from the data module's training loader, so they are normalized (and augmented) exactly as
    the model sees them. Backbones without `init_whitening` are skipped with a warning.

    Args:
        num_images: how many training images to estimate the patch covariance from.
    """

    def __init__(self, num_images: int = 5000) -> None:
        self.num_images = num_images

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.ckpt_path is not None:
            return
        init = getattr(getattr(pl_module, "backbone", None), "init_whitening", None)
        if init is None or trainer.datamodule is None:
            rank_zero_warn("WhiteningInit: needs a data module and a backbone with `init_whitening`; skipped.")
            return
        images = None
        if trainer.is_global_zero:
            images = first_images(trainer.datamodule.train_dataloader(), self.num_images)
        init(trainer.strategy.broadcast(images, src=0))
