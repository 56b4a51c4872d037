"""What every variant of the overhead benchmark shares: the model, the batches, the optimizer and the clock.

A `Workload` names a shipped config (whose optimizer and scheduler all variants use), a backbone that
replaces the config's, and the synthetic batches, pre-generated from a seed so that every variant trains
on the very same tensors.
"""

import functools
import importlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn

Batches = Sequence[tuple[torch.Tensor, torch.Tensor]]
Clock = Callable[[], float]  # time.perf_counter (wall) or time.process_time (CPU time of this process)


def _factory(spec: dict[str, Any] | None) -> Callable[..., Any] | None:
    """`{"class_path": "torch.optim.AdamW", "init_args": {...}}` -> partial(AdamW, ...), as LightningCLI builds it."""
    if spec is None:
        return None
    module, name = spec["class_path"].rsplit(".", 1)
    return functools.partial(getattr(importlib.import_module(module), name), **spec.get("init_args", {}))


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
    task_args: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        config = yaml.safe_load(Path(self.config).read_text())
        object.__setattr__(self, "task_args", config["model"]["init_args"])

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
        torch.manual_seed(self.seed)
        return _factory(self.backbone)(self.input_shape, self.num_classes)

    def optimizer(self) -> Callable[..., torch.optim.Optimizer]:
        return _factory(self.task_args.get("optimizer")) or torch.optim.Adam

    def scheduler(self) -> Callable[..., Any] | None:
        return _factory(self.task_args.get("scheduler"))

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
