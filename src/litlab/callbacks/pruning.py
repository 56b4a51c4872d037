"""Gradual magnitude pruning during training, set up from YAML by two numbers: final sparsity and epochs.

Lightning's `ModelPruning` takes `amount` as a callable of the epoch, which YAML cannot express, and its
`amount` is the fraction of the weights *still unpruned* to remove at that call (torch's pruning container
prunes only inside the current mask). This subclass turns a target schedule into those per-call amounts.
The target follows Zhu & Gupta (2017), s(t) = s_f * (1 - (1 - t/n)^3): prune hard while the network is
redundant, gently near the end.
"""

from collections.abc import Sequence

import lightning as L
from lightning.pytorch.callbacks import ModelPruning
from lightning.pytorch.utilities import rank_zero_warn
from torch import nn
from torch.nn.utils import prune

from litlab.compression.sparsity import PRUNABLE, sparsity

ParamList = Sequence[tuple[nn.Module, str]]


class GradualPruning(ModelPruning):
    """Global L1 unstructured pruning of Linear/Conv weights up to `final_sparsity`, then fine-tuning.

    Pruning runs at the end of training epochs `start_epoch` .. `start_epoch + epochs - 1`; afterwards the mask
    stays fixed. Leave at least one epoch after the last pruning step: checkpoints are saved after validation,
    before that epoch's pruning. Checkpoints hold plain weights with the zeros in them (no `_orig`/`_mask`).
    Logs `prune/sparsity` (zeros among the prunable weights) once per epoch.

    Args:
        final_sparsity: fraction of the prunable weights that are zero when the schedule ends.
        epochs: number of epochs over which the sparsity is raised.
        start_epoch: first epoch whose end prunes.
        verbose: 1 logs the overall sparsity after each step, 2 per layer too (Lightning's own messages).
    """

    def __init__(self, final_sparsity: float = 0.8, epochs: int = 5, start_epoch: int = 0, verbose: int = 0) -> None:
        if not 0.0 <= final_sparsity < 1.0:
            raise ValueError(f"final_sparsity must be in [0, 1), got {final_sparsity}")
        if epochs < 1 or start_epoch < 0:
            raise ValueError(f"need epochs >= 1 and start_epoch >= 0, got {epochs} and {start_epoch}")
        self.final_sparsity = final_sparsity
        self.epochs = epochs
        self.start_epoch = start_epoch
        super().__init__(
            pruning_fn="l1_unstructured",
            parameter_names=["weight"],
            use_global_unstructured=True,
            amount=self.amount_at,
            use_lottery_ticket_hypothesis=False,  # keep the trained weights; do not rewind them to init
            make_pruning_permanent=True,
            verbose=verbose,
        )

    def target(self, epoch: int) -> float:
        """Cumulative sparsity the schedule asks for once epoch `epoch` has ended."""
        done = min(max(epoch - self.start_epoch + 1, 0), self.epochs) / self.epochs
        return self.final_sparsity * (1 - (1 - done) ** 3)

    def amount_at(self, epoch: int) -> float:
        """Fraction of the remaining weights to prune at the end of `epoch` to move from target(e-1) to target(e)."""
        return 1 - (1 - self.target(epoch)) / (1 - self.target(epoch - 1))

    def filter_parameters_to_prune(self, parameters_to_prune: ParamList = ()) -> ParamList:
        return [(module, name) for module, name in parameters_to_prune if isinstance(module, PRUNABLE)]

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        last = self.start_epoch + self.epochs - 1
        if stage == "fit" and trainer.max_epochs is not None and 0 <= trainer.max_epochs - 1 <= last:
            rank_zero_warn(
                f"GradualPruning prunes until the end of epoch {last} but training stops after epoch"
                f" {trainer.max_epochs - 1}: no checkpoint will hold the final sparsity {self.final_sparsity}."
                " Lower `epochs` or raise `trainer.max_epochs`."
            )

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Resumed after pruning began: checkpoints hold the zeros but not the masks, so without them the zeros
        would train back up until the next pruning step. Put the masks back, as the uninterrupted run has them."""
        if trainer.ckpt_path is None:
            return
        for module, name in self._parameters_to_prune:
            weight = getattr(module, name)
            if not prune.is_pruned(module) and bool((weight == 0).any()):
                prune.custom_from_mask(module, name, mask=weight != 0)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        pl_module.log("prune/sparsity", sparsity(pl_module)["global"])
