"""The test images the model got wrong with the highest confidence, with their true and predicted labels.

Only the current top-k candidates are kept, on the device and without host syncs; the test set is
never stored. Under DDP every process keeps its own top-k and rank 0 merges them at epoch end.
"""

from typing import Any

import lightning as L
import torch

from litlab.callbacks.figure_output import log_figure
from litlab.callbacks.figures import display_images, image_grid_figure, is_image_batch
from litlab.callbacks.lookup import class_names, normalisation, tensorboard_writer


class WorstMisclassified(L.Callback):
    """Logs `test/worst_misclassified`: a grid of the `k` most confidently wrong test images.

    Args:
        k: how many images to show.
    """

    def __init__(self, k: int = 24) -> None:
        self.k = k
        self._best: dict[str, torch.Tensor] = {}
        self._num_classes = 0

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._best = {}

    def on_test_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        images = batch[0] if isinstance(batch, list | tuple) else None
        if not isinstance(outputs, dict) or "logits" not in outputs or not is_image_batch(images):
            return
        self._num_classes = outputs["logits"].shape[-1]
        confidence, predicted = outputs["logits"].float().softmax(dim=-1).max(dim=-1)
        target = outputs["target"]
        # Right answers get score -1 so they lose to every wrong one; they are dropped at the end.
        score = torch.where(predicted != target, confidence, torch.full_like(confidence, -1.0))
        candidates = {"score": score, "image": images.detach(), "target": target, "predicted": predicted}
        if self._best:
            candidates = {key: torch.cat([self._best[key], value]) for key, value in candidates.items()}
        keep = candidates["score"].topk(min(self.k, len(candidates["score"]))).indices
        self._best = {key: value[keep] for key, value in candidates.items()}

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self._best or trainer.world_size == 1:
            return
        # all_gather needs equal shapes: a process that saw fewer than k samples pads with entries scored -2.
        missing = self.k - len(self._best["score"])
        if missing > 0:
            padded = {key: torch.cat([v, v.new_zeros((missing, *v.shape[1:]))]) for key, v in self._best.items()}
            padded["score"][-missing:] = -2.0
            self._best = padded
        gathered = pl_module.all_gather(self._best)  # every process must take part, before the rank-0 check
        flat = {key: value.flatten(0, 1) for key, value in gathered.items()}
        keep = flat["score"].topk(min(self.k, len(flat["score"]))).indices
        self._best = {key: value[keep] for key, value in flat.items()}

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        writer = tensorboard_writer(trainer)
        if writer is None or not self._best:
            return
        wrong = self._best["score"] >= 0
        if not wrong.any():
            return
        best = {key: value[wrong].cpu() for key, value in self._best.items()}
        names = class_names(trainer, self._num_classes)
        titles = [
            f"true: {names[t]}\npred: {names[p]} ({s:.2f})"
            for t, p, s in zip(best["target"].tolist(), best["predicted"].tolist(), best["score"].tolist(), strict=True)
        ]
        mean, std = normalisation(trainer)
        figure = image_grid_figure(display_images(best["image"], mean, std), titles)
        log_figure(writer, "test/worst_misclassified", figure, trainer.global_step)
        self._best = {}
