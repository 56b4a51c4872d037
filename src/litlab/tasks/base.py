"""The part every supervised task shares: a backbone built from the data's shape, and YAML-chosen optimization."""

from collections.abc import Callable, Sequence

import lightning as L
import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn

from litlab.tasks import optim

# A backbone is configured in YAML by class_path; the task supplies (input_shape, num_outputs).
BackboneFactory = Callable[[Sequence[int], int], nn.Module]


class SupervisedTask(L.LightningModule):
    """Holds `self.backbone` and configures the optimizer and LR scheduler given as factories.

    Subclasses define the loss, the metrics and the step methods.
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
        self.backbone = backbone(tuple(input_shape), num_outputs)
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.compile_backbone = compile

    def configure_model(self) -> None:
        if self.compile_backbone:
            self.backbone.compile()  # in place, so state_dict keys stay the same as without compile

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def configure_optimizers(self):  # noqa: ANN201 - Lightning accepts several return shapes
        return optim.configure(
            self.parameters(), self.optimizer_factory, self.scheduler_factory, self.trainer.estimated_stepping_batches
        )
