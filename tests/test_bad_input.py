"""Bad input stops `litlab` with exit status 2 and a short message naming the problem, and harms no earlier run.

Every case runs in-process through `litlab.command.cli.main`, the function behind the `litlab` command.
"""

import errno
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import lightning as L
import pytest
import torch

from conftest import CONFIGS, EXPERIMENT, fails, fast_synthetic_args
from litlab.callbacks import NaNGuard
from litlab.command.cli import build_cli
from litlab.command.errors import TrainingDivergedError


def fit(logs: Path, *extra: str) -> list[str]:
    return ["fit", *fast_synthetic_args(logs, epochs=2), *extra]


def no_new_run(logs: Path) -> None:
    assert [p.name for p in (logs / EXPERIMENT).iterdir()] == ["version_0"]


def test_unknown_option_suggests_the_closest(logs: Path, capsys) -> None:
    fails(fit(logs, "--trainer.max_epoch", "3"), capsys, "--trainer.max_epoch", "Did you mean --trainer.max_epochs?")
    no_new_run(logs)


def test_unknown_key_in_a_config_file_suggests_the_closest(logs: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "typo.yaml"
    bad.write_text("model:\n  init_args:\n    lable_smoothing: 0.1\n")
    fails(fit(logs, "--config", str(bad)), capsys, "'lable_smoothing'", "Did you mean 'label_smoothing'?")
    no_new_run(logs)


def test_wrong_type_names_key_type_and_value(logs: Path, capsys) -> None:
    fails(fit(logs, "--data.init_args.batch_size", "many"), capsys, "data.init_args.batch_size", "int", "'many'")


@pytest.mark.parametrize(
    ("key", "value"), [("model.init_args.optimizer.init_args.lr", "-0.001"), ("data.init_args.batch_size", "0")]
)
def test_learning_rate_and_batch_size_must_be_positive(logs: Path, capsys, key: str, value: str) -> None:
    fails(fit(logs, f"--{key}", value), capsys, key, "must be", value)
    no_new_run(logs)


def test_num_classes_given_against_the_data(logs: Path, capsys) -> None:
    fails(fit(logs, "--model.init_args.num_classes", "5"), capsys, "num_classes=5", "num_classes=10")
    no_new_run(logs)


def test_checkpoint_of_10_classes_on_5_class_data(logs: Path, earlier: Path, capsys) -> None:
    ckpt = str(earlier / "checkpoints" / "last.ckpt")
    args = ["test", *fast_synthetic_args(logs), "--data.init_args.num_classes", "5", "--ckpt_path", ckpt]
    fails(args, capsys, ckpt, "num_classes=10", "num_classes=5")


def test_unknown_class_path_suggests_the_closest(logs: Path, capsys) -> None:
    fails(fit(logs, "--model.init_args.backbone", "litlab.models.MPL"), capsys, "MPL", "litlab.models.MLP")


def test_checkpoint_that_does_not_exist(logs: Path, capsys) -> None:
    fails(fit(logs, "--ckpt_path", str(logs / "nope.ckpt")), capsys, str(logs / "nope.ckpt"), "does not exist")


def test_checkpoint_of_a_different_model(logs: Path, earlier: Path, in_tmp: Path, capsys) -> None:
    ckpt = str(earlier / "checkpoints" / "last.ckpt")
    args = ["test", "--config", str(CONFIGS / "cifar10_cnn.yaml"), "--ckpt_path", ckpt]
    fails(args, capsys, ckpt, "different model", "litlab.models.MLP", "litlab.models.ResNet9")


def test_truncated_checkpoint_is_named(logs: Path, earlier: Path, tmp_path: Path, capsys) -> None:
    truncated = tmp_path / "cut.ckpt"
    full = (earlier / "checkpoints" / "last.ckpt").read_bytes()
    truncated.write_bytes(full[: len(full) // 2])
    fails(fit(logs, "--ckpt_path", str(truncated)), capsys, str(truncated), "truncated or corrupt")


def image_folder_args(root: Path) -> list[str]:
    return ["fit", "--config", str(CONFIGS / "synthetic_mlp.yaml"), "--data", "litlab.data.ImageFolderDataModule",
            "--data.init_args.root", str(root)]  # fmt: skip


def test_missing_dataset_folder(in_tmp: Path, capsys) -> None:
    fails(image_folder_args(in_tmp / "nowhere"), capsys, str(in_tmp / "nowhere"), "does not exist")


def test_empty_image_folder(in_tmp: Path, capsys) -> None:
    for name in ("cat", "dog"):
        (in_tmp / "images" / "train" / name).mkdir(parents=True)
    fails(image_folder_args(in_tmp / "images"), capsys, "no images", str(in_tmp / "images" / "train"))


EXPLODE = ["--model.init_args.scheduler", "torch.optim.lr_scheduler.ExponentialLR",
           "--model.init_args.scheduler.init_args.gamma", "1e12"]  # fmt: skip


def test_loss_becoming_nan_stops_with_the_step_and_keeps_the_good_checkpoint(tmp_path: Path, capsys) -> None:
    """Epoch 0 trains at lr 1e-3 and is checkpointed; ExponentialLR then raises it to 1e9, and training diverges."""
    explode = EXPLODE
    message = fails(fit(tmp_path, *explode), capsys, "at step", "Lower the learning rate", lines=4)
    assert "the last finite loss was" in message or "weights are no longer finite" in message
    checkpoints = tmp_path / EXPERIMENT / "version_0" / "checkpoints"
    last = torch.load(checkpoints / "last.ckpt", weights_only=True)
    assert last["epoch"] == 0 and all(torch.isfinite(t).all() for t in last["state_dict"].values())


def diverged_at(logs: Path, check: str) -> tuple[str, dict]:
    """The divergence message of EXPLODE's run with the NaNGuard checking `check`, and its last.ckpt."""
    cli = build_cli(fit(logs, *EXPLODE)[1:], run=False)  # run=False: the arguments without the subcommand
    [guard] = [c for c in cli.trainer.callbacks if isinstance(c, NaNGuard)]
    guard.check = check
    with pytest.raises(TrainingDivergedError) as error:
        cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    last = torch.load(logs / EXPERIMENT / "version_0" / "checkpoints" / "last.ckpt", weights_only=True)
    return str(error.value), last


def test_a_loss_read_one_step_late_names_the_same_step_and_no_bad_checkpoint(tmp_path: Path) -> None:
    """The GPU default reads each loss a step late: the step and loss it names are the immediate check's."""
    at_once, at_once_last = diverged_at(tmp_path / "at_once", "immediate")
    late, late_last = diverged_at(tmp_path / "late", "one_step_late")
    assert "stopped before that step changed the weights" in at_once and "one step later" in late
    step = re.search(r"became (\w+) at step (\d+) \(epoch \d+\); the last finite loss was \S+ at step \d+", at_once)
    assert step is not None, at_once
    assert step.group(0) in late  # the same bad step, the same last finite loss
    for last in (at_once_last, late_last):
        assert last["epoch"] == 0 and all(torch.isfinite(t).all() for t in last["state_dict"].values())


class FillDisk(L.Callback):
    """Test helper: once epoch 0 is checkpointed, runs `fill(save_dir)` so that the next save cannot fit."""

    fill: Callable[[Path], None] = staticmethod(lambda folder: None)

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == 1:
            FillDisk.fill(Path(trainer.logger.save_dir))


@pytest.fixture
def disk(tmp_path: Path) -> tuple[Path, bool]:
    """A real 64 MB tmpfs (mounting needs root, as in this project's container); elsewhere a plain folder."""
    mount = tmp_path / "disk"
    mount.mkdir()
    mount_command = ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)]
    mounted = subprocess.run(mount_command, capture_output=True).returncode == 0
    yield mount, mounted
    if mounted:
        subprocess.run(["umount", str(mount)], check=True)


# TensorBoard's writer thread also hits the full disk and dies with its own traceback: expected here.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_disk_full_while_saving_keeps_the_previous_checkpoint(disk: tuple[Path, bool], capsys, monkeypatch) -> None:
    """On the tmpfs the disk really fills up; without root, ENOSPC is simulated at torch.save's write instead."""
    folder, mounted = disk

    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def leave_100kb(save_dir: Path) -> None:
        if not mounted:
            monkeypatch.setattr(torch, "save", no_space)
            return
        with open(save_dir / "filler", "wb") as filler:
            while (free := shutil.disk_usage(save_dir).free) > 100_000:
                filler.write(b"\0" * min(1 << 20, free - 100_000))
                filler.flush()

    monkeypatch.setattr(FillDisk, "fill", staticmethod(leave_100kb))
    args = fit(folder, "--trainer.callbacks+=test_bad_input.FillDisk")
    message = fails(args, capsys, "no space left on device", "are intact", lines=4)
    checkpoints = folder / EXPERIMENT / "version_0" / "checkpoints"
    assert str(checkpoints) in message
    assert torch.load(checkpoints / "last.ckpt", weights_only=True)["epoch"] == 0
    assert not [p for p in checkpoints.iterdir() if p.name.startswith(".")], "the failed write left its temp file"
