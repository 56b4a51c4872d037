"""Binary classification: one logit, `BCEWithLogitsLoss` (with `pos_weight`), torchmetrics' Binary* metrics."""

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn
from torchmetrics import Metric, MetricCollection
from torchmetrics.classification import BinaryAccuracy, BinaryConfusionMatrix

from litlab.tasks.base import BackboneFactory
from litlab.tasks.label_base import LabelTask
from litlab.tasks.label_metrics import binary_metrics
from litlab.tasks.losses import Weights, modules_to_leave_out_of_hparams


class BinaryClassificationTask(LabelTask):
    """Trains `backbone` with one output on (inputs, 0/1 target) batches; P(positive) = sigmoid(logit).

    Logged: `train/loss` (the objective), `train/acc`; `val/` and `test/` loss (binary cross-entropy without
    `pos_weight`), acc, precision, recall, f1 (of the positive class, threshold 0.5), auroc, ece; `val/acc_best`;
    `objective` with a `loss` or `pos_weight` (see `LabelTask`). Val/test steps hand callbacks the two-class
    logits (0, logit), whose softmax is (1 - p, p): the confusion matrix, ROC and PR curves, reliability
    diagram and worst-misclassified grid of multi-class classification then show the two classes.

    Args: see `LabelTask`; `pos_weight` is one number or "balanced".
    """

    def __init__(
        self,
        backbone: BackboneFactory,
        input_shape: tuple[int, ...],
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        compile: bool = False,
        loss: nn.Module | None = None,
        pos_weight: float | Weights = None,
    ) -> None:
        super().__init__(backbone, input_shape, 1, optimizer, scheduler, compile, loss, pos_weight)
        self.save_hyperparameters(ignore=modules_to_leave_out_of_hparams())
        self.val_confusion, self.test_confusion = BinaryConfusionMatrix(), BinaryConfusionMatrix()
        self.confusion: dict[str, torch.Tensor] = {}

    def _metrics(self) -> MetricCollection:
        return binary_metrics()

    def _train_metric(self) -> Metric:
        return BinaryAccuracy(validate_args=False)

    def _outputs(self, logits: torch.Tensor, target: torch.Tensor, stage: str) -> dict[str, torch.Tensor]:
        confusion = self.val_confusion if stage == "val" else self.test_confusion
        confusion.update(logits.sigmoid(), target.long())
        return {"logits": torch.stack([torch.zeros_like(logits), logits], dim=-1), "target": target.long()}

    def on_validation_epoch_end(self) -> None:
        super().on_validation_epoch_end()
        self.confusion["val"] = self.val_confusion.compute()
        self.val_confusion.reset()

    def on_test_epoch_end(self) -> None:
        super().on_test_epoch_end()
        self.confusion["test"] = self.test_confusion.compute()
        self.test_confusion.reset()
