"""Every optimizer x scheduler pairing named in the docs configures from CLI/YAML arguments and steps."""

import itertools
from pathlib import Path

import pytest
import torch

from conftest import fast_synthetic_args
from litlab.command.cli import build_cli

OPTIMIZERS = {
    "SGD": ["--model.init_args.optimizer.lr", "0.05", "--model.init_args.optimizer.momentum", "0.9",
            "--model.init_args.optimizer.nesterov", "true"],
    "Adam": ["--model.init_args.optimizer.lr", "0.001"],
    "AdamW": ["--model.init_args.optimizer.lr", "0.001", "--model.init_args.optimizer.weight_decay", "0.01"],
    "RMSprop": ["--model.init_args.optimizer.lr", "0.001"],
}  # fmt: skip
SCHEDULERS = {
    "StepLR": ["--model.init_args.scheduler.step_size", "1"],
    "MultiStepLR": ["--model.init_args.scheduler.milestones", "[1]"],
    "ExponentialLR": ["--model.init_args.scheduler.gamma", "0.5"],
    "CosineAnnealingLR": ["--model.init_args.scheduler.T_max", "2"],
    "OneCycleLR": ["--model.init_args.scheduler.max_lr", "0.01"],
    "ReduceLROnPlateau": ["--model.init_args.scheduler.patience", "0"],
}
EPOCHS, BATCHES = 2, 4


def run(tmp_path: Path, optimizer: str, scheduler: str):
    args = fast_synthetic_args(tmp_path, epochs=EPOCHS)
    args = args[: args.index("--model.init_args.scheduler.init_args.T_max")]  # scheduler chosen below instead
    args += ["--trainer.limit_train_batches", str(BATCHES), "--trainer.limit_val_batches", "2"]
    args += ["--trainer.logger", "false", "--trainer.enable_checkpointing", "false", "--trainer.callbacks", "[]"]
    args += ["--trainer.default_root_dir", str(tmp_path)]  # with no logger, config.yaml is saved there (not the cwd)
    args += ["--model.init_args.optimizer", f"torch.optim.{optimizer}", *OPTIMIZERS[optimizer]]
    args += ["--model.init_args.scheduler", f"torch.optim.lr_scheduler.{scheduler}", *SCHEDULERS[scheduler]]
    cli = build_cli(args, run=False)
    cli.trainer.fit(cli.model, cli.datamodule)
    return cli.trainer


@pytest.mark.parametrize(("optimizer", "scheduler"), itertools.product(OPTIMIZERS, SCHEDULERS))
def test_optimizer_scheduler_pair_steps(tmp_path: Path, optimizer: str, scheduler: str) -> None:
    trainer = run(tmp_path, optimizer, scheduler)
    opt = trainer.optimizers[0]
    config = trainer.lr_scheduler_configs[0]
    assert type(opt).__name__ == optimizer
    assert type(config.scheduler).__name__ == scheduler
    assert all(state for state in opt.state.values()), "the optimizer never stepped"
    if scheduler == "OneCycleLR":
        assert config.interval == "step"
        assert config.scheduler.total_steps == EPOCHS * BATCHES == trainer.estimated_stepping_batches
        assert config.scheduler.last_epoch == EPOCHS * BATCHES
    else:
        assert config.interval == "epoch"
        assert config.scheduler.last_epoch == EPOCHS
    if scheduler == "ReduceLROnPlateau":
        assert config.monitor == "val/loss"
    else:
        assert opt.param_groups[0]["lr"] != opt.param_groups[0]["initial_lr"], "the learning rate never moved"


def test_sgd_options_reach_the_optimizer(tmp_path: Path) -> None:
    opt = run(tmp_path, "SGD", "StepLR").optimizers[0]
    assert opt.defaults["nesterov"] is True and opt.defaults["momentum"] == 0.9
    assert isinstance(opt, torch.optim.SGD)
