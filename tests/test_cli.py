"""The `litlab` command: every shipped config instantiates, presets stack, bad input names the problem."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from conftest import CONFIGS, REPO, fast_synthetic_args, write_image_folder
from litlab.command.cli import build_cli, main
from litlab.data.example_table import write_example_table
from litlab.tasks import BinaryClassificationTask, ClassificationTask, MultilabelClassificationTask, RegressionTask

EXPERIMENTS = sorted(p for p in CONFIGS.glob("*.yaml"))


@pytest.mark.parametrize("config", EXPERIMENTS, ids=lambda p: p.stem)
def test_every_config_instantiates_with_linked_shapes(config: Path, in_tmp: Path) -> None:
    if config.stem == "cifar10_jpg_cnn":  # an image folder is read at construction, for its shape and classes
        write_image_folder(in_tmp / "data" / "cifar10-jpg", {"train": 1}, size=32)
    if config.stem == "table_mlp":  # the example table is generated, never committed
        write_example_table(in_tmp / "data" / "example_table.csv", rows=100)
    cli = build_cli(["--config", str(config)], run=False)
    data, task = cli.datamodule, cli.model
    assert tuple(task.hparams.input_shape) == tuple(data.input_shape)
    if isinstance(task, ClassificationTask):
        assert task.hparams.num_classes == data.num_classes
    elif isinstance(task, MultilabelClassificationTask):
        assert task.hparams.num_labels == data.num_labels
    elif isinstance(task, BinaryClassificationTask):
        assert task(torch.zeros(2, *data.input_shape)).shape == (2,)  # one logit per sample
    else:
        assert isinstance(task, RegressionTask) and task.hparams.num_outputs == data.num_outputs
    assert cli.trainer.logger is not None and cli.trainer.logger.name == config.stem


@pytest.mark.parametrize("preset", ["gpu", "ddp", "debug"])
def test_trainer_presets_stack_on_an_experiment(preset: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        preset_file = CONFIGS / "trainer" / f"{preset}.yaml"
        main(["fit", "--config", str(CONFIGS / "cifar10_cnn.yaml"), "--config", str(preset_file), "--print_config"])
    assert exit_info.value.code == 0
    resolved = yaml.safe_load(capsys.readouterr().out)
    preset_values = yaml.safe_load((CONFIGS / "trainer" / f"{preset}.yaml").read_text())["trainer"]
    for key, value in preset_values.items():
        assert resolved["trainer"][key] == value, key
    assert resolved["model"]["init_args"]["backbone"]["class_path"] == "litlab.models.ResNet9"


def test_debug_preset_runs_without_writing_anything(in_tmp: Path) -> None:
    args = [*fast_synthetic_args(in_tmp), "--data.init_args.batch_size", "32"]  # 16 batches, of which debug runs 5
    cli = build_cli(["fit", *args, "--config", str(CONFIGS / "trainer" / "debug.yaml")])
    assert cli.trainer.global_step == 2 * 5
    assert [p.relative_to(in_tmp) for p in in_tmp.rglob("*") if p.is_file()] == [Path("logs/debug/config.yaml")]


def test_print_config_shows_resolved_yaml_with_overrides(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["fit", "--config", str(CONFIGS / "synthetic_mlp.yaml"), "--trainer.max_epochs", "3",
              "--model.init_args.optimizer.lr", "0.01", "--print_config"])  # fmt: skip
    resolved = yaml.safe_load(capsys.readouterr().out)
    assert resolved["trainer"]["max_epochs"] == 3
    assert resolved["model"]["init_args"]["optimizer"]["init_args"]["lr"] == 0.01
    assert resolved["seed_everything"] == 42


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--trainer.max_epoch", "3"], "--trainer.max_epoch"),
        (["--model.init_args.lable_smoothing", "0.1"], "lable_smoothing"),
    ],
)
def test_wrong_key_fails_naming_the_key(args: list[str], named: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", str(CONFIGS / "synthetic_mlp.yaml"), *args])
    assert exit_info.value.code != 0
    assert named in capsys.readouterr().err


def test_wrong_key_in_a_yaml_file_is_named(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  init_args:\n    lable_smoothing: 0.1\n")
    with pytest.raises(SystemExit):
        main(["fit", "--config", str(CONFIGS / "synthetic_mlp.yaml"), "--config", str(bad)])
    assert "lable_smoothing" in capsys.readouterr().err


@pytest.mark.slow  # a litlab process: CI runs it (.ci/run)
def test_offline_cifar_stops_with_a_short_message(tmp_path: Path) -> None:
    """A real `litlab` process, as `make train` runs it, on a machine without the dataset."""
    result = subprocess.run(
        [sys.executable, "-m", "litlab", "fit", "--config", str(REPO / "configs" / "cifar10_cnn.yaml"),
         "--data.init_args.data_dir", str(tmp_path / "data"), "--data.init_args.download", "false"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    error = result.stderr[result.stderr.index("litlab: error:") :]
    assert str((tmp_path / "data").resolve()) in error and "data_batch_1" in error
    assert "cifar-10-python.tar.gz" in error and "make demo" in error
    assert len(error.splitlines()) <= 8
    assert not (tmp_path / "logs").exists() or not any((tmp_path / "logs").rglob("*.ckpt"))


def test_progress_bar_refresh_is_configured_and_switchable_from_the_command_line(in_tmp: Path) -> None:
    demo = ["--config", str(CONFIGS / "synthetic_mlp.yaml")]
    shipped = build_cli(demo, run=False)
    assert shipped.trainer.progress_bar_callback.refresh_rate == 10
    off = build_cli([*demo, "--trainer.enable_progress_bar", "false"], run=False)
    assert off.trainer.progress_bar_callback is None


def test_train_loss_is_logged_on_the_loggers_cadence_and_metrics_once_per_epoch(tmp_path: Path) -> None:
    """4 steps per epoch, 2 epochs, every 3rd step: the loss at the steps Lightning's logger writes, nothing between."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    args = fast_synthetic_args(tmp_path, epochs=2)
    args[args.index("--trainer.log_every_n_steps") + 1] = "3"
    cli = build_cli(["fit", *args, "--data.init_args.batch_size", "128"])
    events = EventAccumulator(cli.trainer.log_dir, size_guidance={"scalars": 0})
    events.Reload()
    assert [e.step for e in events.Scalars("train/loss")] == [2, 5]
    assert len(events.Scalars("train/acc")) == 2  # one value per epoch, computed over all of its batches
    assert len(events.Scalars("val/acc")) == 2 and len(events.Scalars("val/loss")) == 2
    assert 0.0 <= events.Scalars("train/acc")[-1].value <= 1.0
