"""The time-to-accuracy benchmark's parts: the folder that scores the test set, the per-epoch clock, the summaries."""

import sys
from pathlib import Path

import pytest
import torch
import yaml
from benchmarks.time_to_accuracy import Point, best_within, eval_folder, seconds_to_reach, train

from conftest import REPO, write_image_folder
from litlab.command.cli import build_cli, resolved_config

sys.path.insert(0, str(REPO / "scripts"))
from bench_time_to_accuracy import FAST_RECIPES, experiment  # noqa: E402

POINTS = [Point(1, 60.0, 0.50), Point(2, 130.0, 0.71), Point(3, 200.0, 0.69), Point(4, 290.0, 0.80)]


def test_seconds_to_reach_is_the_first_epoch_at_or_above_the_bar() -> None:
    assert seconds_to_reach(POINTS, 0.70) == 130.0
    assert seconds_to_reach(POINTS, 0.80) == 290.0
    assert seconds_to_reach(POINTS, 0.81) is None


def test_best_within_only_counts_epochs_that_ended_in_time() -> None:
    assert best_within(POINTS, 200.0) == POINTS[1]
    assert best_within(POINTS, 59.0) is None


def test_eval_folder_validates_on_the_test_images_and_trains_on_all_training_images(tmp_path: Path) -> None:
    source = write_image_folder(tmp_path / "src", {"train": 4, "test": 2}, size=8)
    folder = eval_folder(source, tmp_path / "timed")
    eval_folder(source, tmp_path / "timed")  # again: the links are reused
    assert sorted(p.name for p in (folder / "val" / "cat").iterdir()) == ["0000.png", "0001.png"]
    assert (folder / "val").resolve() == (source / "test").resolve()
    assert (folder / "train").resolve() == (source / "train").resolve()


def test_train_records_one_point_per_epoch_with_the_epochs_val_accuracy(tmp_path: Path) -> None:
    source = write_image_folder(tmp_path / "src", {"train": 8, "test": 4}, size=8)
    folder = eval_folder(source, tmp_path / "timed")
    config = experiment("cifar10_simple_cnn.yaml", folder, str(tmp_path / "logs"), 2, {"loader": "memory"})
    config["trainer"].update(enable_progress_bar=False, accelerator="cpu", devices=1)
    config["data"]["init_args"].update(batch_size=4, num_workers=0)
    points = train(config)
    assert [p.epoch for p in points] == [1, 2]
    assert 0 < points[0].train_seconds < points[1].train_seconds
    scored = torch.tensor([p.accuracy for p in points]) * 12  # 12 test images: accuracies are multiples of 1/12
    assert torch.allclose(scored, scored.round(), atol=1e-4)
    saved = yaml.safe_load(next((tmp_path / "logs").rglob("config.yaml")).read_text())
    assert saved["data"]["init_args"]["root"] == str(folder) and saved["trainer"]["limit_val_batches"] == 1.0


def test_experiment_can_swap_the_fast_recipes_widths_and_schedule(tmp_path: Path) -> None:
    source = write_image_folder(tmp_path / "src", {"train": 8, "test": 4}, size=16)
    folder = eval_folder(source, tmp_path / "timed")
    logs = str(tmp_path / "logs")
    config = experiment(FAST_RECIPES[15], folder, logs, None, {}, widths=[8, 16, 24], epoch_sizes=[12, 14])
    cli = build_cli(args=config, run=False)
    assert [group.conv2.out_channels for group in cli.model.backbone.groups] == [8, 16, 24]
    assert cli.datamodule.channels_last  # carried over from the config's CIFAR-10 data
    assert cli.datamodule.augmentation.epoch_sizes == (12, 14)
    assert cli.trainer.max_epochs == 10  # configs/variants/cifar10_fast_cpu_15min.yaml's
    assert cli.trainer.check_val_every_n_epoch == 1
    at_the_end = experiment(FAST_RECIPES[5], folder, logs, 3, {}, score_every=0)
    assert at_the_end["trainer"]["max_epochs"] == at_the_end["trainer"]["check_val_every_n_epoch"] == 3


@pytest.mark.parametrize("budget", sorted(FAST_RECIPES))
def test_fast_recipes_are_the_configs_the_cli_stacks(budget: int, tmp_path: Path) -> None:
    """`experiment` changes only what it is asked to: the rest is what the README's command runs, `litlab fit
    --config A [--config B] --config configs/data/cifar10_jpg.yaml` (the JPEG copy the figures were measured on)."""
    configs = [*FAST_RECIPES[budget], "data/cifar10_jpg.yaml"]
    resolved = resolved_config(["fit", *[a for c in configs for a in ("--config", str(REPO / "configs" / c))]])
    folder = tmp_path / "images"
    bench = experiment(FAST_RECIPES[budget], folder, str(tmp_path / "logs"), None, {})
    for section in ("model", "seed_everything"):
        assert bench[section] == resolved[section], section
    for key in ("max_epochs", "precision", "callbacks", "accelerator"):
        assert bench["trainer"][key] == resolved["trainer"][key], key
    assert resolved["data"]["class_path"] == bench["data"]["class_path"] == "litlab.data.ImageFolderDataModule"
    assert resolved["data"]["init_args"].pop("root") == "data/cifar10-jpg"  # where `make data-jpg` unpacks it
    assert bench["data"]["init_args"].pop("root") == str(folder)
    assert resolved["data"]["init_args"] == bench["data"]["init_args"]  # loader, batch, augmentation carried over
    assert resolved["data"]["init_args"]["augmentation"]["epoch_sizes"]  # the recipe's, not the preset's defaults
    if budget == 15:  # the variant really changes the base recipe
        assert resolved["model"]["init_args"]["backbone"]["init_args"]["widths"] == [64, 256, 256]
        assert resolved["trainer"]["logger"]["init_args"]["name"] == "cifar10_fast_cpu_15min"
