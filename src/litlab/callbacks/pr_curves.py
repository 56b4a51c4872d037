"""One precision-recall curve per class after testing, in TensorBoard's PR Curves tab.

torchmetrics' binned `MulticlassPrecisionRecallCurve` accumulates true/false positive counts at fixed
thresholds on the device (constant memory, synced across processes); those counts are exactly the raw
data TensorBoard's PR-curve summary stores, so nothing is kept per sample.
"""

from typing import Any

import lightning as L
from torchmetrics.classification import MulticlassPrecisionRecallCurve

from litlab.callbacks.lookup import class_names, tensorboard_writer

# TensorBoard's PR-curve summary holds at most 127 thresholds.
MAX_THRESHOLDS = 127


class PRCurves(L.Callback):
    """Logs `test/pr_curve/<class name>` for every class, one-vs-rest on the softmax probabilities.

    Args:
        num_thresholds: evenly spaced thresholds in [0, 1] (at most 127).
    """

    def __init__(self, num_thresholds: int = MAX_THRESHOLDS) -> None:
        self.num_thresholds = min(num_thresholds, MAX_THRESHOLDS)
        self._curve: MulticlassPrecisionRecallCurve | None = None

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._curve = None

    def on_test_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if not isinstance(outputs, dict) or "logits" not in outputs:
            return
        logits = outputs["logits"].float()
        if self._curve is None:
            curve = MulticlassPrecisionRecallCurve(logits.shape[-1], thresholds=self.num_thresholds)
            self._curve = curve.to(logits.device)
        self._curve.update(logits.softmax(dim=-1), outputs["target"])

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._curve is None:
            return
        with self._curve.sync_context():  # collective: every process calls it before the rank-0 check
            counts = self._curve.confmat.cpu().double()  # (thresholds, classes, true, predicted)
        self._curve = None
        writer = tensorboard_writer(trainer)
        if writer is None:
            return
        tp, fp = counts[:, :, 1, 1], counts[:, :, 0, 1]
        tn, fn = counts[:, :, 0, 0], counts[:, :, 1, 0]
        precision = tp / (tp + fp).clamp_min(1)  # TensorBoard's own convention: 0 where nothing is predicted
        recall = tp / (tp + fn).clamp_min(1)
        for c, name in enumerate(class_names(trainer, counts.shape[1])):
            writer.add_pr_curve_raw(
                f"test/pr_curve/{name}",
                *(x[:, c].numpy() for x in (tp, fp, tn, fn, precision, recall)),
                global_step=trainer.global_step,
                num_thresholds=self.num_thresholds,
            )
