"""Time to accuracy: train a litlab config, score the test set after every epoch, keep (training seconds, accuracy).

The test set is scored through Lightning's own validation loop, so whatever the config does at evaluation
(test-time augmentation, weight averaging such as `Lookahead`) is what gets measured: `eval_folder` builds an
image folder whose `val/` *is* the source's `test/` (symlinks, no copies), and all of `train/` is trained on.
The clock is `EpochTimer`'s `time/train_s`: training steps only, without the evaluations, decoding the
images (cached on disk by the first run) or building the model.
"""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L

from litlab.callbacks import EpochTimer
from litlab.command.cli import build_cli


@dataclass(frozen=True)
class Point:
    epoch: int
    train_seconds: float  # cumulative, up to the end of this epoch
    accuracy: float


def eval_folder(source: Path, target: Path) -> Path:
    """`target/` with `train -> source/train` and `val`, `test -> source/test`: validation scores the test set."""
    target.mkdir(parents=True, exist_ok=True)
    for name, split in (("train", "train"), ("val", "test"), ("test", "test")):
        link = target / name
        if not link.is_symlink():
            os.symlink((source / split).resolve(), link, target_is_directory=True)
    return target


class AccuracyByTime(L.Callback):
    """Adds up `time/train_s` over epochs; a `Point` for each epoch that was scored (place it after `EpochTimer`)."""

    def __init__(self) -> None:
        self.points: list[Point] = []
        self._train_seconds = 0.0
        self._accuracy: float | None = None  # of this epoch's validation, which runs before its end

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._accuracy = float(trainer.callback_metrics["val/acc"])

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._train_seconds += float(trainer.callback_metrics["time/train_s"])
        if self._accuracy is not None:
            self.points.append(Point(trainer.current_epoch + 1, self._train_seconds, self._accuracy))
            self._accuracy = None


def train(config: dict[str, Any]) -> list[Point]:
    """Fit what `litlab fit` builds from this config (a parsed YAML), its callbacks and all; one Point per epoch."""
    cli = build_cli(args=config, run=False)
    clock = AccuracyByTime()
    if not any(isinstance(c, EpochTimer) for c in cli.trainer.callbacks):
        cli.trainer.callbacks.append(EpochTimer())
    cli.trainer.callbacks.append(clock)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    return clock.points


def seconds_to_reach(points: list[Point], accuracy: float) -> float | None:
    """Training seconds at the end of the first epoch whose test accuracy is at least `accuracy`."""
    return next((p.train_seconds for p in points if p.accuracy >= accuracy), None)


def best_within(points: list[Point], seconds: float) -> Point | None:
    """The most accurate epoch among those that ended within `seconds` of training."""
    return max((p for p in points if p.train_seconds <= seconds), key=lambda p: p.accuracy, default=None)
