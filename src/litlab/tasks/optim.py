"""Turn the optimizer and scheduler chosen in YAML into what `configure_optimizers` returns.

LightningCLI hands the task *factories* (OptimizerCallable, LRSchedulerCallable). This module fills in
what only the running trainer knows: the total number of optimizer steps for schedulers that need it
(OneCycleLR), the stepping interval, and the metric that ReduceLROnPlateau watches.
"""

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch.optim.lr_scheduler import CyclicLR, OneCycleLR, ReduceLROnPlateau

# Schedulers whose whole shape is defined in optimizer steps rather than epochs.
PER_STEP_SCHEDULERS: tuple[type, ...] = (OneCycleLR, CyclicLR)


def target_class(factory: Callable[..., Any]) -> type | None:
    """The class a factory builds: a class itself, or a (possibly nested) `functools.partial` of one."""
    if isinstance(factory, type):
        return factory
    if isinstance(factory, functools.partial):
        # jsonargparse wraps the class as partial(call_without_instantiate_context, instantiator, cls, **kw)
        for candidate in (factory.func, *factory.args):
            cls = target_class(candidate)
            if cls is not None:
                return cls
    return None


def build_scheduler(factory: LRSchedulerCallable, optimizer: torch.optim.Optimizer, total_steps: int) -> Any:
    """Call the factory, passing `total_steps` when the scheduler takes it and the config left it unset."""
    cls = target_class(factory)
    needs_total = cls is not None and "total_steps" in inspect.signature(cls).parameters
    given = getattr(factory, "keywords", {})
    if needs_total and given.get("total_steps") is None and given.get("epochs") is None:
        return factory(optimizer, total_steps=total_steps)
    return factory(optimizer)


def configure(
    params: Iterable[torch.nn.Parameter],
    optimizer: OptimizerCallable,
    scheduler: LRSchedulerCallable | None,
    total_steps: int,
    monitor: str = "val/loss",
) -> torch.optim.Optimizer | dict[str, Any]:
    """Build the optimizer and, if configured, its scheduler in Lightning's dict format."""
    opt = optimizer(params)
    if scheduler is None:
        return opt
    sched = build_scheduler(scheduler, opt, total_steps)
    config: dict[str, Any] = {"scheduler": sched, "interval": "epoch"}
    if isinstance(sched, PER_STEP_SCHEDULERS):
        config["interval"] = "step"
    if isinstance(sched, ReduceLROnPlateau):
        config["monitor"] = monitor
    return {"optimizer": opt, "lr_scheduler": config}
