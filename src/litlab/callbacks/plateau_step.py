"""Step `ReduceLROnPlateau` before the end-of-epoch checkpoint is written, so that resuming from it is exact.

Lightning 2.6 steps an epoch-interval plateau scheduler in `FitLoop.on_advance_end`, *after* the
`on_train_epoch_end` hooks in which `ModelCheckpoint` writes `last.ckpt`. The checkpoint therefore holds
the scheduler (and the optimizer's learning rate) from before that epoch's step, and a run resumed from it
never takes that step: Lightning resumes an epoch-end checkpoint at the next epoch, and for an epoch
resumed in its middle it skips plateau steps on purpose (it does not save the monitored metric). Each
resume so loses one plateau step, and later learning-rate cuts come an epoch late.

`PlateauBeforeCheckpoint` takes the step itself in `on_train_epoch_end`, which Lightning calls for
callbacks before `ModelCheckpoint` (a monitoring callback), with the same metric Lightning would read,
and skips Lightning's own step for that epoch. The monitored value is also saved with the callback's
state, for an epoch resumed after its validation (whose validation is not run again). It applies to
schedulers whose metric is known when the epoch's training ends (a validation metric, as litlab's
`val/loss`); any other is left to Lightning.
"""

from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities.types import LRSchedulerConfig


class PlateauBeforeCheckpoint(L.Callback):
    """Steps epoch-interval `ReduceLROnPlateau` schedulers before the epoch's checkpoints are written."""

    def __init__(self) -> None:
        self._taken_over: dict[int, int] = {}  # id(config) -> its frequency, while Lightning must not step it
        self._monitored: dict[str, torch.Tensor] = {}  # monitored values restored from a checkpoint
        self._trainer: L.Trainer | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._trainer = trainer  # state_dict() takes no trainer; the monitored values live on it

    @staticmethod
    def _due(config: LRSchedulerConfig, epoch: int) -> bool:
        return config.reduce_on_plateau and config.interval == "epoch" and (epoch + 1) % config.frequency == 0

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not pl_module.automatic_optimization:
            return
        epoch = trainer.current_epoch
        for config in trainer.lr_scheduler_configs:
            value = trainer.callback_metrics.get(config.monitor, self._monitored.get(config.monitor))
            if not self._due(config, epoch) or value is None:
                continue
            pl_module.lr_scheduler_step(config.scheduler, value)
            # Lightning steps a config when (epoch + 1) % frequency == 0; this frequency fails that test this
            # epoch, and the real one is back before the next epoch starts (or fit ends).
            self._taken_over[id(config)] = config.frequency
            config.frequency = epoch + 2
        self._monitored = {}

    def _give_back(self, trainer: L.Trainer) -> None:
        for config in trainer.lr_scheduler_configs:
            config.frequency = self._taken_over.pop(id(config), config.frequency)

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._give_back(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._give_back(trainer)

    def state_dict(self) -> dict[str, Any]:
        if self._trainer is None:
            return {}
        monitors = {c.monitor for c in self._trainer.lr_scheduler_configs if c.reduce_on_plateau}
        return {"monitored": {k: v for k, v in self._trainer.callback_metrics.items() if k in monitors}}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._monitored = dict(state_dict.get("monitored", {}))
