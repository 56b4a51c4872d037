"""Multi-label classification: N independent yes/no labels per sample, `BCEWithLogitsLoss`, Multilabel* metrics."""

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn
from torchmetrics import Metric, MetricCollection
from torchmetrics.classification import MultilabelAccuracy

from litlab.tasks.base import BackboneFactory
from litlab.tasks.label_base import LabelTask
from litlab.tasks.label_metrics import multilabel_metrics
from litlab.tasks.losses import Weights, modules_to_leave_out_of_hparams


class MultilabelClassificationTask(LabelTask):
    """Trains `backbone` with `num_labels` outputs on (inputs, (B, num_labels) 0/1 targets) batches.

    Logged: `train/loss` (the objective), `train/acc`; `val/` and `test/` loss (binary cross-entropy averaged
    over labels, without `pos_weight`), acc (over every label decision), exact_match, macro precision, recall,
    f1 (threshold 0.5), auroc; `val/acc_best`; `objective` with a `loss` or `pos_weight` (see `LabelTask`).
    Val/test steps hand callbacks `label_probabilities` and `target`, never class logits, so multi-class
    pictures (confusion matrix, softmax curves) skip this task; `litlab.callbacks.LabelReport` draws its own.

    Args: see `LabelTask`; `num_labels` is linked from the data module.
    """

    def __init__(
        self,
        backbone: BackboneFactory,
        input_shape: tuple[int, ...],
        num_labels: int,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        compile: bool = False,
        loss: nn.Module | None = None,
        pos_weight: float | Weights = None,
    ) -> None:
        super().__init__(backbone, input_shape, num_labels, optimizer, scheduler, compile, loss, pos_weight)
        self.save_hyperparameters(ignore=modules_to_leave_out_of_hparams())

    def _metrics(self) -> MetricCollection:
        return multilabel_metrics(self.num_labels)

    def _train_metric(self) -> Metric:
        return MultilabelAccuracy(self.num_labels, average="micro", validate_args=False)

    def _outputs(self, logits: torch.Tensor, target: torch.Tensor, stage: str) -> dict[str, torch.Tensor]:
        return {"label_probabilities": logits.sigmoid(), "target": target.long()}
