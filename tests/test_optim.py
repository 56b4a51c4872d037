"""`optim.configure` turns every optimizer x scheduler pairing named in the docs into what Lightning expects
(unit tests, on factories made the way LightningCLI makes them), and one real fit steps through it end to end."""

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import torch
from jsonargparse import ArgumentParser
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable

from conftest import fast_synthetic_args
from litlab.command.cli import build_cli
from litlab.tasks import optim

OPTIMIZERS: dict[str, dict[str, Any]] = {
    "SGD": {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    "Adam": {"lr": 0.001},
    "AdamW": {"lr": 0.001, "weight_decay": 0.01},
    "RMSprop": {"lr": 0.001},
}
SCHEDULERS: dict[str, dict[str, Any]] = {
    "StepLR": {"step_size": 1},
    "MultiStepLR": {"milestones": [1]},
    "ExponentialLR": {"gamma": 0.5},
    "CosineAnnealingLR": {"T_max": 2},
    "OneCycleLR": {"max_lr": 0.01},
    "ReduceLROnPlateau": {"patience": 0},
}
TOTAL_STEPS = 8


def factories(optimizer: str, scheduler: str, **scheduler_args: Any) -> tuple[Any, Any]:
    """The optimizer and scheduler factories jsonargparse builds from YAML, as the task receives them."""
    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument("--optimizer", type=OptimizerCallable)
    parser.add_argument("--scheduler", type=LRSchedulerCallable)
    specs = {
        "optimizer": {"class_path": f"torch.optim.{optimizer}", "init_args": OPTIMIZERS[optimizer]},
        "scheduler": {
            "class_path": f"torch.optim.lr_scheduler.{scheduler}",
            "init_args": {**SCHEDULERS[scheduler], **scheduler_args},
        },
    }
    config = parser.parse_args([a for key, spec in specs.items() for a in (f"--{key}", json.dumps(spec))])
    built = parser.instantiate_classes(config)
    return built.optimizer, built.scheduler


@pytest.mark.parametrize(("optimizer", "scheduler"), list(itertools.product(OPTIMIZERS, SCHEDULERS)))
def test_configure_builds_the_pair_with_the_right_interval(optimizer: str, scheduler: str) -> None:
    weight = torch.nn.Parameter(torch.ones(3))
    configured = optim.configure([weight], *factories(optimizer, scheduler), total_steps=TOTAL_STEPS)
    opt, config = configured["optimizer"], configured["lr_scheduler"]
    sched = config["scheduler"]
    assert type(opt).__name__ == optimizer and type(sched).__name__ == scheduler
    for key, value in OPTIMIZERS[optimizer].items():
        assert opt.defaults[key] == value, key
    assert config["interval"] == ("step" if scheduler == "OneCycleLR" else "epoch")
    assert config.get("monitor") == ("val/loss" if scheduler == "ReduceLROnPlateau" else None)
    if scheduler == "OneCycleLR":
        assert sched.total_steps == TOTAL_STEPS  # filled in from the trainer's count
    weight.grad = torch.ones(3)
    opt.step()
    sched.step(1.0) if scheduler == "ReduceLROnPlateau" else sched.step()
    assert not torch.equal(weight.detach(), torch.ones(3)), "the optimizer did not step"


def test_configure_keeps_a_total_step_count_the_config_sets() -> None:
    weight = torch.nn.Parameter(torch.ones(3))
    configured = optim.configure([weight], *factories("SGD", "OneCycleLR", total_steps=5), total_steps=TOTAL_STEPS)
    assert configured["lr_scheduler"]["scheduler"].total_steps == 5


def test_configure_without_a_scheduler_returns_the_optimizer() -> None:
    opt, _ = factories("Adam", "StepLR")
    assert isinstance(optim.configure([torch.nn.Parameter(torch.ones(3))], opt, None, TOTAL_STEPS), torch.optim.Adam)


def test_a_fit_steps_the_one_cycle_schedule_per_optimizer_step(tmp_path: Path) -> None:
    epochs, batches = 2, 4
    args = fast_synthetic_args(tmp_path, epochs=epochs)
    args = args[: args.index("--model.init_args.scheduler.init_args.T_max")]  # scheduler chosen below instead
    args += ["--trainer.limit_train_batches", str(batches), "--trainer.limit_val_batches", "2"]
    args += ["--trainer.logger", "false", "--trainer.enable_checkpointing", "false", "--trainer.callbacks", "[]"]
    args += ["--trainer.default_root_dir", str(tmp_path)]  # with no logger, config.yaml is saved there (not the cwd)
    args += ["--model.init_args.optimizer", "torch.optim.SGD", "--model.init_args.optimizer.lr", "0.05"]
    args += ["--model.init_args.scheduler", "torch.optim.lr_scheduler.OneCycleLR"]
    args += ["--model.init_args.scheduler.max_lr", "0.01"]
    cli = build_cli(args, run=False)
    cli.trainer.fit(cli.model, cli.datamodule)
    opt, config = cli.trainer.optimizers[0], cli.trainer.lr_scheduler_configs[0]
    assert config.interval == "step"
    assert config.scheduler.total_steps == epochs * batches == cli.trainer.estimated_stepping_batches
    assert config.scheduler.last_epoch == epochs * batches
    assert all(state for state in opt.state.values()), "the optimizer never stepped"
