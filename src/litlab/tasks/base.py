"""The part every supervised task shares: a backbone built from the data's shape, and YAML-chosen optimization."""

from collections.abc import Callable, Sequence

import lightning as L
import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn

from litlab.models.torchvision_backbone import build_backbone
from litlab.tasks import optim

# A backbone is configured in YAML by class_path; the task supplies (input_shape, num_outputs). A torchvision
# model builder (`backbone: torchvision.models.resnet18`) is built by `litlab.models.torchvision_backbone`.
BackboneFactory = Callable[[Sequence[int], int], nn.Module]


class SupervisedTask(L.LightningModule):
    """Holds `self.backbone` and configures the optimizer and LR scheduler given as factories.

    Subclasses define the loss, the metrics and the step methods. Steps only `update` their torchmetrics
    objects; the objects are logged once, at the end of each epoch (Lightning computes, syncs and resets
    them there). Logging a Metric object from a step costs about as much as a tiny model's whole step: every
    `self.log` call moves the metric to the value's device, walking all of its state.
    """

    def __init__(
        self,
        backbone: BackboneFactory,
        input_shape: tuple[int, ...],
        num_outputs: int,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        compile: bool = False,
    ) -> None:
        super().__init__()
        self.backbone = build_backbone(backbone, tuple(input_shape), num_outputs)
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.compile_backbone = compile

    def configure_model(self) -> None:
        if self.compile_backbone:
            self.backbone.compile()  # in place, so state_dict keys stay the same as without compile

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def _log_train_loss(self, loss: torch.Tensor) -> None:
        """Log `train/loss` (also to the progress bar) on the steps the logger writes, every `log_every_n_steps`.

        One `self.log` call costs about as much as a tiny model's whole step on a CPU, and a value logged
        between the logger's writes is overwritten unseen. `global_step + 1` is the count Lightning tests.
        """
        every = self.trainer.log_every_n_steps
        if every and (self.global_step + 1) % every == 0:
            self.log("train/loss", loss, prog_bar=True)

    def _log_epoch_metrics(self, stage: str) -> None:
        """Log `{stage}_loss` as `{stage}/loss` (on the progress bar for val), `{stage}_objective` as
        `{stage}/objective` when the task `reports_objective`, and the `{stage}_metrics` collection."""
        self.log(f"{stage}/loss", getattr(self, f"{stage}_loss"), prog_bar=stage == "val")
        if getattr(self, "reports_objective", False):
            self.log(f"{stage}/objective", getattr(self, f"{stage}_objective"))
        self.log_dict(getattr(self, f"{stage}_metrics"))

    def configure_optimizers(self):  # noqa: ANN201 - Lightning accepts several return shapes
        return optim.configure(
            self.parameters(), self.optimizer_factory, self.scheduler_factory, self.trainer.estimated_stepping_batches
        )
