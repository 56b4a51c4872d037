"""Regression: a configurable loss (MSE by default; L1, SmoothL1, Huber...); MSE, MAE and R² per stage."""

import torch
import torch.nn.functional as F
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn
from torchmetrics import MeanMetric

from litlab.tasks.base import BackboneFactory, SupervisedTask
from litlab.tasks.losses import modules_to_leave_out_of_hparams
from litlab.tasks.metrics import regression_metrics

Batch = tuple[torch.Tensor, torch.Tensor]


class RegressionTask(SupervisedTask):
    """Trains `backbone` to predict float targets of shape (B, num_outputs).

    Logged: `train/loss` (the objective), `train/mse`; `val/` and `test/` loss (always MSE, comparable across
    runs), mse, mae, r2; with a `loss` given, `val/objective` and `test/objective` report that loss too.

    Args:
        backbone: model factory from YAML; gets (input_shape, num_outputs).
        num_outputs: linked from the data module.
        input_shape: linked from the data module.
        optimizer: optimizer factory.
        scheduler: LR scheduler factory or null.
        compile: `torch.compile` the backbone.
        loss: the training objective by class_path, called as `loss(prediction, target)`, e.g.
            torch.nn.L1Loss, SmoothL1Loss or HuberLoss; default MSELoss.
    """

    def __init__(
        self,
        backbone: BackboneFactory,
        num_outputs: int,
        input_shape: tuple[int, ...],
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        compile: bool = False,
        loss: nn.Module | None = None,
    ) -> None:
        super().__init__(backbone, input_shape, num_outputs, optimizer, scheduler, compile)
        self.save_hyperparameters(ignore=modules_to_leave_out_of_hparams())
        self.loss = nn.MSELoss() if loss is None else loss
        self.reports_objective = loss is not None
        self.val_objective, self.test_objective = MeanMetric(), MeanMetric()
        self.train_mse = regression_metrics()["mse"].clone()
        self.val_metrics = regression_metrics().clone(prefix="val/")
        self.test_metrics = regression_metrics().clone(prefix="test/")
        self.val_loss, self.test_loss = MeanMetric(), MeanMetric()  # sample-weighted, exact under DDP

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        x, y = batch
        pred = self(x)
        loss = self.loss(pred, y)
        self.train_mse.update(pred.detach(), y)
        self._log_train_loss(loss)
        return loss

    def on_train_epoch_end(self) -> None:
        self.log("train/mse", self.train_mse)

    def on_validation_epoch_end(self) -> None:
        self._log_epoch_metrics("val")

    def on_test_epoch_end(self) -> None:
        self._log_epoch_metrics("test")

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def predict_step(self, batch: Batch | torch.Tensor, batch_idx: int) -> torch.Tensor:
        return self(batch[0] if isinstance(batch, list | tuple) else batch)

    def _evaluate(self, batch: Batch, stage: str) -> None:
        x, y = batch
        pred = self(x).float()  # bf16 predictions would round the sums of squares the metrics accumulate
        metrics = self.val_metrics if stage == "val" else self.test_metrics
        metrics.update(pred.squeeze(-1), y.squeeze(-1))
        loss = self.val_loss if stage == "val" else self.test_loss
        loss.update(F.mse_loss(pred, y), weight=len(y))
        if self.reports_objective:
            objective = self.val_objective if stage == "val" else self.test_objective
            objective.update(self.loss(pred, y), weight=len(y))
