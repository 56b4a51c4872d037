"""Image/vector classification: a configurable loss (cross-entropy by default) and torchmetrics per stage."""

import torch
import torch.nn.functional as F
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn
from torchmetrics import MaxMetric, MeanMetric
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix

from litlab.tasks.base import BackboneFactory, SupervisedTask
from litlab.tasks.losses import (
    Weights,
    balanced_class_weights,
    check_loss_weights,
    initial_weight,
    modules_to_leave_out_of_hparams,
    objective_weight,
    set_label_smoothing,
    set_weight,
    train_targets,
)
from litlab.tasks.metrics import classification_metrics
from litlab.tasks.tta import tta_logits

Batch = tuple[torch.Tensor, torch.Tensor]
# Training batches whose predicted labels are gathered before one `train_acc.update`. An update costs the same
# Python work whatever the batch size: ~10% of a tiny model's CPU step when done every step (a py-spy profile of
# the overhead benchmark's tiny model), and a handful of kernel launches on a GPU.
TRAIN_ACC_BATCHES_PER_UPDATE = 64


class ClassificationTask(SupervisedTask):
    """Trains `backbone` on (images, labels) batches.

    Logged: `train/loss` (the objective), `train/acc`; `val/` and `test/` loss (plain cross-entropy), acc,
    precision, recall, f1, auroc, ece (and acc_top5 with more than 5 classes; see `litlab.tasks.metrics`);
    `val/acc_best`. The confusion matrix of
    the last val/test epoch is kept in `self.confusion[stage]` for callbacks to show. When the objective is not
    plain cross-entropy (another loss, class weights or label smoothing), `val/objective` and `test/objective`
    report it too; `val/loss` stays the unweighted, unsmoothed cross-entropy, comparable across runs.

    Args:
        backbone: model factory from YAML (class_path + init_args); gets (input_shape, num_classes).
        num_classes: linked from the data module.
        input_shape: linked from the data module.
        optimizer: optimizer factory, e.g. SGD or AdamW with its init_args.
        scheduler: LR scheduler factory or null; OneCycleLR gets its total steps from the trainer.
        loss: the training objective by class_path, called as `loss(logits, labels)`; default CrossEntropyLoss.
        class_weight: per-class weights set as the loss's `weight`: a list, or "balanced" (n / (classes ·
            count) from the training labels, computed when fitting starts and saved in checkpoints).
        label_smoothing: passed to the loss (which must have it), so val/test loss stay comparable across runs.
        compile: `torch.compile` the backbone.
        tta: evaluate (val/test) on logits averaged over flipped and one-pixel-shifted views of each image
            (see `litlab.tasks.tta`); training is unchanged.
    """

    def __init__(
        self,
        backbone: BackboneFactory,
        num_classes: int,
        input_shape: tuple[int, ...],
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        label_smoothing: float = 0.0,
        compile: bool = False,
        tta: bool = False,
        loss: nn.Module | None = None,
        class_weight: Weights = None,
    ) -> None:
        super().__init__(backbone, input_shape, num_classes, optimizer, scheduler, compile)
        self.save_hyperparameters(ignore=modules_to_leave_out_of_hparams())
        self.label_smoothing = label_smoothing
        self.loss = nn.CrossEntropyLoss() if loss is None else loss
        set_label_smoothing(self.loss, label_smoothing)
        check_loss_weights(self.loss, num_classes, "class")
        if class_weight is not None:
            set_weight(self.loss, "weight", initial_weight(class_weight, num_classes, "class_weights"))
        self.reports_objective = loss is not None or class_weight is not None or label_smoothing > 0
        # No argument checks on the training metric: on a GPU they cost a host sync every step.
        self.train_acc = MulticlassAccuracy(num_classes, average="micro", validate_args=False)
        self._train_labels: list[Batch] = []  # (predicted, true) labels of steps not yet given to train_acc
        self.val_metrics = classification_metrics(num_classes).clone(prefix="val/")
        self.test_metrics = classification_metrics(num_classes).clone(prefix="test/")
        self.val_confusion = MulticlassConfusionMatrix(num_classes)
        self.test_confusion = MulticlassConfusionMatrix(num_classes)
        self.val_acc_best = MaxMetric()
        self.val_acc_best.persistent(True)  # saved in checkpoints, so a resumed run keeps its best
        # Loss as a sample-weighted metric: exact under DDP even when ranks hold unequal sample counts.
        self.val_loss, self.test_loss = MeanMetric(), MeanMetric()
        self.val_objective, self.test_objective = MeanMetric(), MeanMetric()
        self.confusion: dict[str, torch.Tensor] = {}

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = self.loss(logits, y)
        self._train_labels.append((logits.detach().argmax(dim=-1), y))
        if len(self._train_labels) >= TRAIN_ACC_BATCHES_PER_UPDATE:
            self._update_train_acc()
        self._log_train_loss(loss)
        return loss

    def setup(self, stage: str) -> None:
        if stage == "fit" and self.hparams.class_weight == "balanced":
            labels = train_targets(self.trainer.datamodule)
            set_weight(self.loss, "weight", balanced_class_weights(labels, self.hparams.num_classes).to(self.device))

    def on_train_epoch_start(self) -> None:
        self._train_labels.clear()  # left by an epoch cut short by an exception, in a module trained again

    def _update_train_acc(self) -> None:
        """Give the gathered (predicted, true) labels to `train_acc` in one update."""
        if self._train_labels:
            predicted, true = zip(*self._train_labels, strict=True)
            self.train_acc.update(torch.cat(predicted), torch.cat(true))
            self._train_labels.clear()

    def on_train_epoch_end(self) -> None:
        self._update_train_acc()
        self.log("train/acc", self.train_acc)  # see SupervisedTask on why metric objects are logged per epoch

    def validation_step(self, batch: Batch, batch_idx: int) -> dict[str, torch.Tensor]:
        return self._evaluate(batch, "val")

    def test_step(self, batch: Batch, batch_idx: int) -> dict[str, torch.Tensor]:
        return self._evaluate(batch, "test")

    def predict_step(self, batch: Batch | torch.Tensor, batch_idx: int) -> torch.Tensor:
        x = batch[0] if isinstance(batch, list | tuple) else batch
        return self(x).softmax(dim=-1)

    def _evaluate(self, batch: Batch, stage: str) -> dict[str, torch.Tensor]:
        """Update the stage's metrics (logged at the epoch's end); return logits and targets for `on_*_batch_end`."""
        x, y = batch
        # float32 whatever the precision: bf16 logits would round probabilities and tie the scores AUROC ranks.
        logits = (tta_logits(self, x) if self.hparams.tta else self(x)).float()
        # Probabilities, not logits: torchmetrics applies softmax only to a batch that has a value outside
        # [0, 1], so logits that all happen to lie in [0, 1] would be scored as if they were probabilities.
        probabilities = logits.softmax(dim=-1)
        metrics = self.val_metrics if stage == "val" else self.test_metrics
        confusion = self.val_confusion if stage == "val" else self.test_confusion
        metrics.update(probabilities, y)
        confusion.update(probabilities, y)
        loss = self.val_loss if stage == "val" else self.test_loss
        loss.update(F.cross_entropy(logits, y), weight=len(y))
        if self.reports_objective:
            objective = self.val_objective if stage == "val" else self.test_objective
            objective.update(self.loss(logits, y), weight=objective_weight(self.loss, y))
        return {"logits": logits.detach(), "target": y}

    def on_validation_epoch_end(self) -> None:
        self._log_epoch_metrics("val")
        if not self.trainer.sanity_checking:  # the sanity-check batches are not a score worth keeping
            self.val_acc_best(self.val_metrics["acc"].compute())
            self.log("val/acc_best", self.val_acc_best.compute(), prog_bar=True, sync_dist=True)
        self.confusion["val"] = self.val_confusion.compute()
        self.val_confusion.reset()

    def on_test_epoch_end(self) -> None:
        self._log_epoch_metrics("test")
        self.confusion["test"] = self.test_confusion.compute()
        self.test_confusion.reset()
