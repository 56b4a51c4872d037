"""airbench's "lookahead" weight averaging, built on Lightning's `WeightAveraging`.

Every `every_n_steps` optimizer steps the averaged weights move toward the current ones, and then the current
weights are reset to the average, so the average also steers training (plain EMA only watches). The
averaging strength ramps up over the run: decay_t = decay * (t / T) ** power for step t of T, so early
training, while weights move fast, is left alone.

Everything else is Lightning's: validation runs on the averaged weights, checkpoints store them as
`state_dict` (the current ones under `current_model_state`), and they replace the model when training ends.
For a plain EMA use `lightning.pytorch.callbacks.EMAWeightAveraging` instead.
"""

import warnings
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import WeightAveraging


class Lookahead(WeightAveraging):
    """Lookahead-style averaging with a ramped decay.

    Args:
        every_n_steps: optimizer steps between two averaging steps.
        decay: decay of the average at the last step (airbench: 0.95 ** 5 for every 5 steps).
        power: how the decay ramps up from 0 with the fraction of training done.
        use_buffers: average buffers (BatchNorm running statistics) too.
    """

    def __init__(self, every_n_steps: int = 5, decay: float = 0.95**5, power: float = 3.0, use_buffers: bool = True):
        super().__init__(use_buffers=use_buffers, avg_fn=self._blend)
        self.every_n_steps = every_n_steps
        self.decay = decay
        self.power = power
        self._current_decay = 0.0
        self._updating = False

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        # Lightning warns about any overridden configure_model; litlab's only compiles in place, it never shards.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="You're using the WeightAveraging callback with a model that")
            super().setup(trainer, pl_module, stage)

    def _blend(self, average: torch.Tensor, current: torch.Tensor, num_averaged: torch.Tensor) -> torch.Tensor:
        # Written out rather than torch.lerp so that integer buffers (num_batches_tracked) work too.
        return average + (1 - self._current_decay) * (current - average)

    def should_update(self, step_idx: int | None = None, epoch_idx: int | None = None) -> bool:
        self._updating = step_idx is not None and (step_idx + 1) % self.every_n_steps == 0
        return self._updating

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        progress = min(trainer.global_step / max(trainer.estimated_stepping_batches, 1), 1.0)
        self._current_decay = self.decay * progress**self.power
        self._updating = False
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        if self._updating:
            self._copy_average_to_current(pl_module)
