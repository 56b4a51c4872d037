"""What binary and multi-label classification share: one logit per label, `BCEWithLogitsLoss`, `pos_weight`."""

import torch
import torch.nn.functional as F
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn
from torchmetrics import MaxMetric, MeanMetric, Metric, MetricCollection

from litlab.tasks.base import BackboneFactory, SupervisedTask
from litlab.tasks.classification import TRAIN_ACC_BATCHES_PER_UPDATE
from litlab.tasks.losses import (
    Weights,
    balanced_pos_weight,
    check_loss_weights,
    initial_weight,
    set_weight,
    train_targets,
)

Batch = tuple[torch.Tensor, torch.Tensor]


class LabelTask(SupervisedTask):
    """Trains `backbone` to output one logit per label, each label an independent yes/no.

    Subclasses build the metrics (`_metrics`, `_train_metric`) and say what a step's outputs are for callbacks.
    `val/loss` and `test/loss` are plain binary cross-entropy (no `pos_weight`), comparable across runs;
    `val/objective` and `test/objective` report the training loss when it differs (a `loss` or `pos_weight`).

    Args:
        backbone: model factory from YAML; gets (input_shape, num_labels).
        input_shape: linked from the data module.
        num_labels: number of independent labels.
        optimizer: optimizer factory.
        scheduler: LR scheduler factory or null.
        compile: `torch.compile` the backbone.
        loss: the training objective by class_path, called as `loss(logits, targets)` with float 0/1
            targets; default BCEWithLogitsLoss.
        pos_weight: weight of the positive term per label, set as the loss's `pos_weight`: a number, a list
            (one per label), or "balanced" (negatives / positives in the training split, saved in checkpoints).
    """

    def __init__(
        self,
        backbone: BackboneFactory,
        input_shape: tuple[int, ...],
        num_labels: int,
        optimizer: OptimizerCallable,
        scheduler: LRSchedulerCallable | None,
        compile: bool,
        loss: nn.Module | None,
        pos_weight: float | Weights,
    ) -> None:
        super().__init__(backbone, input_shape, num_labels, optimizer, scheduler, compile)
        self.num_labels = num_labels
        self.loss = nn.BCEWithLogitsLoss() if loss is None else loss
        self.pos_weight = [pos_weight] if isinstance(pos_weight, int | float) else pos_weight
        if self.pos_weight is not None:
            set_weight(self.loss, "pos_weight", initial_weight(self.pos_weight, num_labels, "pos_weights"))
        check_loss_weights(self.loss, num_labels, "label", broadcast=True)
        self.reports_objective = loss is not None or pos_weight is not None
        self.train_acc = self._train_metric()
        self._train_outputs: list[Batch] = []  # (logits, targets) of steps not yet given to train_acc
        self.val_metrics = self._metrics().clone(prefix="val/")
        self.test_metrics = self._metrics().clone(prefix="test/")
        self.val_loss, self.test_loss = MeanMetric(), MeanMetric()
        self.val_objective, self.test_objective = MeanMetric(), MeanMetric()
        self.val_acc_best = MaxMetric()
        self.val_acc_best.persistent(True)

    def _metrics(self) -> MetricCollection:
        raise NotImplementedError

    def _train_metric(self) -> Metric:
        raise NotImplementedError

    def _outputs(self, logits: torch.Tensor, target: torch.Tensor, stage: str) -> dict[str, torch.Tensor]:
        """What val/test steps return for callbacks (`on_*_batch_end`)."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits shaped like the targets: (B, num_labels), or (B,) for one label."""
        logits = self.backbone(x)
        return logits.squeeze(-1) if self.num_labels == 1 else logits

    def setup(self, stage: str) -> None:
        if stage == "fit" and self.pos_weight == "balanced":
            set_weight(self.loss, "pos_weight", balanced_pos_weight(train_targets(self.trainer.datamodule)))

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = self.loss(logits, y.float())
        self._train_outputs.append((logits.detach(), y))
        if len(self._train_outputs) >= TRAIN_ACC_BATCHES_PER_UPDATE:
            self._update_train_acc()
        self._log_train_loss(loss)
        return loss

    def on_train_epoch_start(self) -> None:
        self._train_outputs.clear()

    def _update_train_acc(self) -> None:
        if self._train_outputs:
            logits, targets = zip(*self._train_outputs, strict=True)
            self.train_acc.update(torch.cat(logits).float().sigmoid(), torch.cat(targets).long())
            self._train_outputs.clear()

    def on_train_epoch_end(self) -> None:
        self._update_train_acc()
        self.log("train/acc", self.train_acc)

    def validation_step(self, batch: Batch, batch_idx: int) -> dict[str, torch.Tensor]:
        return self._evaluate(batch, "val")

    def test_step(self, batch: Batch, batch_idx: int) -> dict[str, torch.Tensor]:
        return self._evaluate(batch, "test")

    def predict_step(self, batch: Batch | torch.Tensor, batch_idx: int) -> torch.Tensor:
        return self(batch[0] if isinstance(batch, list | tuple) else batch).sigmoid()

    def _evaluate(self, batch: Batch, stage: str) -> dict[str, torch.Tensor]:
        x, y = batch
        logits = self(x).float()  # float32 whatever the precision, as ClassificationTask explains
        metrics = self.val_metrics if stage == "val" else self.test_metrics
        metrics.update(logits.sigmoid(), y.long())  # probabilities: see ClassificationTask._evaluate
        loss = self.val_loss if stage == "val" else self.test_loss
        loss.update(F.binary_cross_entropy_with_logits(logits, y.float()), weight=len(y))
        if self.reports_objective:
            objective = self.val_objective if stage == "val" else self.test_objective
            objective.update(self.loss(logits, y.float()), weight=len(y))
        return self._outputs(logits.detach(), y, stage)

    def on_validation_epoch_end(self) -> None:
        self._log_epoch_metrics("val")
        if not self.trainer.sanity_checking:
            self.val_acc_best(self.val_metrics["acc"].compute())
            self.log("val/acc_best", self.val_acc_best.compute(), prog_bar=True, sync_dist=True)

    def on_test_epoch_end(self) -> None:
        self._log_epoch_metrics("test")
