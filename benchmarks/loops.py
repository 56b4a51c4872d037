"""Ways to train the same model on the same batches, each timed per epoch, for the overhead benchmark.

- `train_by_hand`: the PyTorch loop one would write without a framework (forward, loss, backward, step).
- `fit_barebones`: Lightning's `Trainer(barebones=True)` with a module that only returns the loss.
- `fit_lightning_defaults`: the same module under a default `Trainer` (progress bar, logger, checkpoints).
- `fit_litlab`: the shipped experiment config (its trainer, callbacks, logger, progress bar and the
  ClassificationTask with its metrics and logging) built by the `litlab` CLI, with only the backbone, the
  input shape and the epoch count replaced, and validation switched off.

All take the same pre-generated batches (no DataLoader, so data loading is not part of the
comparison) and the optimizer and scheduler of the config (see `benchmarks.workload`), and return
the time of each epoch, by wall clock unless another clock is given.
"""

import itertools
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.cli import LightningCLI
from torch import nn

from benchmarks.workload import Batches, Clock, Replay, Workload
from litlab.command.cli import build_cli, resolved_config
from litlab.tasks import optim

ConfigEdit = Callable[[dict[str, Any]], None]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_by_hand(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    workload: Workload,
    device: str | torch.device = "cpu",
    clock: Clock = time.perf_counter,
) -> list[float]:
    """The plain loop: per batch move, forward, cross-entropy, zero_grad, backward, step; the scheduler as configured.

    Each epoch takes the first `workload.steps` batches of `batches` (a list or a DataLoader).
    """
    device = torch.device(device)
    model.to(device).train()
    config = optim.configure(model.parameters(), workload.optimizer(), workload.scheduler(), workload.total_steps)
    if isinstance(config, dict):
        optimizer, scheduler = config["optimizer"], config["lr_scheduler"]["scheduler"]
        interval = config["lr_scheduler"]["interval"]
        if "monitor" in config["lr_scheduler"]:
            raise ValueError("the hand-written loop has no validation metric for ReduceLROnPlateau")
    else:
        optimizer, scheduler, interval = config, None, None
    epoch_seconds = []
    for _ in range(workload.epochs):
        _sync(device)
        start = clock()
        for x, y in itertools.islice(batches, workload.steps):
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if interval == "step":
                scheduler.step()
        if interval == "epoch":
            scheduler.step()
        _sync(device)
        epoch_seconds.append(clock() - start)
    return epoch_seconds


class EpochClock(L.Callback):
    """Wall time from each training epoch's start hook to its end hook (place it first among the callbacks)."""

    def __init__(self, clock: Clock = time.perf_counter) -> None:
        self.clock = clock
        self.epoch_seconds: list[float] = []
        self._start = 0.0

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        _sync(pl_module.device)
        self._start = self.clock()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        _sync(pl_module.device)
        self.epoch_seconds.append(self.clock() - self._start)


class LossOnly(L.LightningModule):
    """The least a LightningModule can be: forward, cross-entropy, the workload's optimizer and scheduler."""

    def __init__(self, backbone: nn.Module, workload: Workload) -> None:
        super().__init__()
        self.backbone = backbone
        self.workload = workload

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        return F.cross_entropy(self.backbone(x), y)

    def configure_optimizers(self):  # noqa: ANN201 - Lightning accepts several return shapes
        workload = self.workload
        return optim.configure(self.parameters(), workload.optimizer(), workload.scheduler(), workload.total_steps)


class Inert(L.Callback):
    """A callback that overrides no hook: Lightning still calls each of the base class's no-op hooks on it."""


def _fit_loss_only(
    model: nn.Module,
    batches: Batches,
    workload: Workload,
    accelerator: str,
    clock: Clock,
    inert_callbacks: int = 0,
    **trainer_args: Any,
) -> list[float]:
    """`LossOnly(model)` fitted by a plain Lightning Trainer with `trainer_args`; its files go to a temporary folder."""
    epoch_clock = EpochClock(clock)
    with tempfile.TemporaryDirectory(prefix="litlab-bench-") as logdir:
        trainer = L.Trainer(
            accelerator=accelerator,
            devices=1,
            max_epochs=workload.epochs,
            limit_val_batches=0,
            default_root_dir=logdir,
            callbacks=[epoch_clock, *(Inert() for _ in range(inert_callbacks))],
            **trainer_args,
        )
        trainer.fit(LossOnly(model, workload), train_dataloaders=Replay(batches))
    return epoch_clock.epoch_seconds


def fit_barebones(
    model: nn.Module,
    batches: Batches,
    workload: Workload,
    accelerator: str = "cpu",
    clock: Clock = time.perf_counter,
    inert_callbacks: int = 0,
) -> list[float]:
    return _fit_loss_only(model, batches, workload, accelerator, clock, inert_callbacks, barebones=True)


def fit_lightning_defaults(
    model: nn.Module, batches: Batches, workload: Workload, accelerator: str = "cpu", clock: Clock = time.perf_counter
) -> list[float]:
    """`fit_barebones`' module under a default Trainer: progress bar, TensorBoard logger, checkpointing on."""
    return _fit_loss_only(model, batches, workload, accelerator, clock)


def without_callbacks(config: dict[str, Any]) -> None:
    """A ConfigEdit: litlab's task and logger only; no callbacks, no progress bar, no checkpoints."""
    config["trainer"].update(callbacks=[], enable_progress_bar=False, enable_checkpointing=False)


def litlab_config(workload: Workload, logdir: str | Path, accelerator: str = "cpu") -> dict[str, Any]:
    """The workload's config as `litlab`'s parser resolves it, with its epochs and logging folder, validation off."""
    return resolved_config(
        [
            *workload.cli_args(),
            "--trainer.accelerator", accelerator,
            "--trainer.devices", "1",
            "--trainer.max_epochs", str(workload.epochs),
            "--trainer.limit_val_batches", "0",
            "--trainer.logger.init_args.save_dir", str(logdir),
        ],
        run=False,
    )  # fmt: skip


def build_litlab(
    workload: Workload, logdir: str | Path, edit: ConfigEdit | None = None, accelerator: str = "cpu"
) -> LightningCLI:
    """Trainer, task and data module exactly as `litlab fit` builds them from the edited config (not yet fitted)."""
    config = litlab_config(workload, logdir, accelerator)
    if edit is not None:
        edit(config)
    return build_cli(args=config, run=False)


def shipped_callback_count(workload: Workload, accelerator: str = "cpu") -> int:
    """How many callbacks the shipped Trainer holds, those Lightning adds by itself (e.g. ModelSummary) included."""
    with tempfile.TemporaryDirectory(prefix="litlab-bench-") as logdir:
        return len(build_litlab(workload, logdir, accelerator=accelerator).trainer.callbacks)


def fit_litlab(
    batches: Batches,
    workload: Workload,
    edit: ConfigEdit | None = None,
    accelerator: str = "cpu",
    clock: Clock = time.perf_counter,
) -> list[float]:
    """Epoch times of the shipped training loop; its logs go to a temporary folder that is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="litlab-bench-") as logdir:
        cli = build_litlab(workload, logdir, edit, accelerator)
        epoch_clock = EpochClock(clock)
        cli.trainer.callbacks.insert(0, epoch_clock)
        cli.trainer.fit(cli.model, train_dataloaders=Replay(batches))
    return epoch_clock.epoch_seconds
