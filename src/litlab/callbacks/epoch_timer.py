"""Epoch wall time and training throughput, measured once per epoch.

Lightning's `ThroughputMonitor` was considered: it needs a `batch_size_fn` (a Python callable, awkward
in YAML), warns unless the module defines `flops_per_batch`, logs per step over a sliding window, and
calls `torch.cuda.synchronize()` after every training batch. Here batch sizes are read from tensor
shapes (no host sync) and the device is synchronised only where a training interval ends.
"""

import time
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities.data import extract_batch_size


class EpochTimer(L.Callback):
    """Logs `time/epoch_s` (training plus validation), `time/train_s` and `time/train_images_per_s`.

    Training time excludes validation, also when it runs mid-epoch (`val_check_interval`). Images per
    second are this process's training samples times the number of processes over the training time,
    i.e. the global rate.
    """

    def __init__(self) -> None:
        self._epoch_start = 0.0
        self._running_since: float | None = None  # start of the current training interval; None while paused
        self._train_seconds = 0.0
        self._samples = 0

    @staticmethod
    def _now(trainer: L.Trainer) -> float:
        if trainer.strategy.root_device.type == "cuda":
            torch.cuda.synchronize(trainer.strategy.root_device)  # queued kernels belong to the interval
        return time.perf_counter()

    def _pause(self, trainer: L.Trainer) -> float:
        now = self._now(trainer)
        if self._running_since is not None:
            self._train_seconds += now - self._running_since
            self._running_since = None
        return now

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._epoch_start = self._running_since = self._now(trainer)
        self._train_seconds = 0.0
        self._samples = 0

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self._running_since is None:  # resuming after a mid-epoch validation
            self._running_since = time.perf_counter()

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self._samples += extract_batch_size(batch)

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._pause(trainer)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        now = self._pause(trainer)
        train_seconds = max(self._train_seconds, 1e-9)
        times = {
            "time/epoch_s": now - self._epoch_start,
            "time/train_s": train_seconds,
            "time/train_images_per_s": self._samples * trainer.world_size / train_seconds,
        }
        pl_module.log_dict(times, on_epoch=True, sync_dist=True)
