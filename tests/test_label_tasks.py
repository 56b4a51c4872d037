"""Binary and multi-label tasks train end to end from their shipped configs, and their dashboards show the
pictures that fit the task: a 2x2 confusion matrix for binary, per-label scores and curves for multi-label."""

import json
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import CONFIGS
from litlab.command.cli import main
from litlab.data import ImageLabelsCSVData


def fit(tmp_path: Path, config: str, *extra: str) -> Path:
    main([
        "fit", "--config", str(CONFIGS / config), "--trainer.logger.init_args.save_dir", str(tmp_path / "logs"),
        "--trainer.max_epochs", "3", "--trainer.enable_progress_bar", "false",
        "--data.init_args.sizes", "[1500, 300, 300]", *extra,
    ])  # fmt: skip
    (run,) = (tmp_path / "logs").glob("*/version_*")
    return run


def tags(run: Path) -> dict[str, list[str]]:
    events = EventAccumulator(str(run), size_guidance={"images": 0, "scalars": 0, "tensors": 0})
    events.Reload()
    return events.Tags()


def test_binary_task_learns_and_shows_two_classes(tmp_path: Path) -> None:
    run = fit(tmp_path, "synthetic_binary.yaml")
    metrics = json.loads((run / "test_metrics.json").read_text())["metrics"]
    assert metrics["test/auroc"] > 0.95 and metrics["test/acc"] > 0.85  # positives are 20%: chance is 0.8
    assert "test/objective" in metrics  # pos_weight: balanced
    header = (run / "confusion_matrix.csv").read_text().splitlines()[0]
    assert header.split(",")[1:] == ["negative", "positive"]
    found = tags(run)
    assert {"test/confusion_matrix", "test/roc_curves", "test/reliability_diagram"} <= set(found["images"])


def test_multilabel_task_learns_and_shows_per_label_pictures(tmp_path: Path) -> None:
    run = fit(tmp_path, "synthetic_multilabel.yaml", "--model.init_args.pos_weight", "balanced")
    metrics = json.loads((run / "test_metrics.json").read_text())["metrics"]
    assert metrics["test/auroc"] > 0.9 and metrics["test/exact_match"] > 0.5
    assert {p.name for p in run.iterdir()} >= {"per_label.csv", "per_label.png", "roc.png"}
    assert not (run / "confusion_matrix.png").exists()
    found = tags(run)
    assert {"test/per_label", "test/roc_curves"} <= set(found["images"])
    assert not any("confusion" in tag for tag in found["images"])
    assert {f"test/pr_curve/label_{j}" for j in range(5)} <= set(found["tensors"])


def write_labelled_images(root: Path, count: int, with_split: bool) -> Path:
    """8x8 RGB noise images; label "red"/"green"/"blue" means that channel is bright. Returns the CSV."""
    from PIL import Image

    (root / "img").mkdir(parents=True)
    generator = torch.Generator().manual_seed(0)
    lines = ["file,labels,split" if with_split else "file,labels"]
    for i in range(count):
        on = torch.rand(3, generator=generator) < 0.4
        pixels = torch.randint(0, 120, (8, 8, 3), generator=generator, dtype=torch.uint8)
        pixels[..., on] += 120
        Image.fromarray(pixels.numpy()).save(root / "img" / f"{i:04d}.png")
        names = " ".join(name for name, bright in zip(("red", "green", "blue"), on.tolist(), strict=True) if bright)
        split = ("train", "train", "train", "val", "test")[i % 5]
        lines.append(f"img/{i:04d}.png,{names}" + (f",{split}" if with_split else ""))
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    return root / "labels.csv"


@pytest.mark.parametrize("with_split", [True, False], ids=["split-column", "seeded-split"])
def test_a_label_csv_gives_label_names_targets_and_splits(tmp_path: Path, with_split: bool) -> None:
    csv_file = write_labelled_images(tmp_path / "images", 50, with_split)
    data = ImageLabelsCSVData(tmp_path / "images", val_fraction=0.2, test_fraction=0.2, flip=False)
    assert data.class_names == ["blue", "green", "red"] and data.num_labels == 3 and data.input_shape == (3, 8, 8)
    data.setup("fit")
    assert (len(data.train_set), len(data.val_set), len(data.test_set)) == (30, 10, 10)
    rows = csv_file.read_text().splitlines()[1:]
    if with_split:  # the CSV's own split, in file order
        first_val = next(i for i, row in enumerate(rows) if row.endswith(",val"))
        names = rows[first_val].split(",")[1].split()
        expected = [float(name in names) for name in data.class_names]
        assert data.val_set[0][1].tolist() == expected
    assert sorted(data.train_targets().sum(dim=0).tolist()) == sorted(data.train_set.targets.sum(dim=0).tolist())


def test_an_image_folder_with_a_label_csv_trains_a_multilabel_task(tmp_path: Path) -> None:
    write_labelled_images(tmp_path / "images", 150, with_split=True)
    main([
        "fit", "--config", str(CONFIGS / "synthetic_multilabel.yaml"),
        "--trainer.logger.init_args.save_dir", str(tmp_path / "logs"), "--trainer.max_epochs", "6",
        "--trainer.enable_progress_bar", "false", "--model.init_args.scheduler.init_args.T_max", "6",
        "--model.init_args.optimizer.init_args.lr", "0.01",
        "--data", "litlab.data.ImageLabelsCSVData", "--data.init_args.root", str(tmp_path / "images"),
        "--data.init_args.batch_size", "16",
    ])  # fmt: skip
    (run,) = (tmp_path / "logs").glob("*/version_*")
    metrics = json.loads((run / "test_metrics.json").read_text())["metrics"]
    assert metrics["test/auroc"] > 0.9
    assert (run / "per_label.csv").read_text().splitlines()[1].startswith("blue,")
