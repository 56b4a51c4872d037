"""What every variant of the overhead benchmark shares: the model, the batches, the optimizer and the clock.

A `Workload` names a shipped config (whose optimizer and scheduler all variants use), a backbone that
replaces the config's, and the synthetic batches, pre-generated from a seed so that every variant trains
on the very same tensors. The config's task is built by `litlab`'s own CLI (`build_cli`), so every class
is instantiated exactly as `litlab fit` instantiates it.
"""

import functools
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from litlab.command.cli import build_cli
from litlab.tasks.base import SupervisedTask

Batches = Sequence[tuple[torch.Tensor, torch.Tensor]]
Clock = Callable[[], float]  # time.perf_counter (wall) or time.process_time (CPU time of this process)


@dataclass(frozen=True)
class Workload:
    """A model, its synthetic batches and the config whose trainer and optimizer litlab runs.

    Args:
        config: a shipped experiment YAML with a ClassificationTask.
        backbone: class_path and init_args of the backbone replacing the config's.
        input_shape: shape of one sample.
        num_classes: number of classes.
        batch_size: samples per batch.
        steps: batches per epoch.
        epochs: epochs per run; the first is warm-up and not timed.
        seed: seeds the batches and the model's initialisation.
    """

    config: Path
    backbone: dict[str, Any]
    input_shape: tuple[int, ...]
    num_classes: int
    batch_size: int
    steps: int
    epochs: int = 2
    seed: int = 42

    def cli_args(self) -> list[str]:
        """`litlab` arguments for this workload: its config with the backbone, the data's shape and the seed set."""
        return [
            "--config", str(self.config),
            "--seed_everything", str(self.seed),
            "--model.init_args.backbone", json.dumps(self.backbone),
            "--data.init_args.input_shape", json.dumps(list(self.input_shape)),
            "--data.init_args.num_classes", str(self.num_classes),
        ]  # fmt: skip

    def task(self) -> SupervisedTask:
        """The config's task as `litlab` builds it; seeded, so every call starts from the same weights."""
        return build_cli([*self.cli_args(), "--trainer.logger", "false"], run=False).model

    def batches(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        generator = torch.Generator().manual_seed(self.seed)
        return [
            (
                torch.randn(self.batch_size, *self.input_shape, generator=generator),
                torch.randint(self.num_classes, (self.batch_size,), generator=generator),
            )
            for _ in range(self.steps)
        ]

    def backbone_model(self) -> nn.Module:
        return self.task().backbone

    @functools.cached_property
    def _factories(self) -> tuple[Callable[..., torch.optim.Optimizer], Callable[..., Any] | None]:
        task = self.task()
        return task.optimizer_factory, task.scheduler_factory

    def optimizer(self) -> Callable[..., torch.optim.Optimizer]:
        return self._factories[0]

    def scheduler(self) -> Callable[..., Any] | None:
        return self._factories[1]

    @property
    def total_steps(self) -> int:
        return self.steps * self.epochs


class Replay:
    """Iterates over pre-made batches. Lightning reads a bare list as a list of dataloaders, hence this wrapper."""

    def __init__(self, batches: Batches) -> None:
        self.batches = batches

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


def seconds_per_step(epoch_seconds: Sequence[float], steps: int) -> float:
    """Mean step time over the epochs after the first (warm-up: allocator, autograd graph caches, first logs)."""
    timed = epoch_seconds[1:] or epoch_seconds
    return sum(timed) / (len(timed) * steps)
