"""`litlab fit` tests the best checkpoint when training ends, into the same run folder, with every test file.

On a generated image folder (not CIFAR: 4 classes of unequal size, 8x8 pixels), from YAML and overrides only,
on both image loaders; and (slow) `litlab test` of the same checkpoint with 2 DDP processes reports the
one-process values.
"""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import CONFIGS, write_image_folder
from litlab.command.cli import main

CLASSES = ("ant", "bee", "cat", "dog")


def scores_from_confusion(run: Path) -> dict[str, float]:
    """Macro precision, recall and F1 from the run's own confusion_matrix.csv (torchmetrics' macro rules)."""
    with (run / "confusion_matrix.csv").open() as file:
        counts = np.array([[int(v) for v in row[1:]] for row in list(csv.reader(file))[1:]], dtype=float)
    tp, predicted, support = counts.diagonal(), counts.sum(axis=0), counts.sum(axis=1)
    seen = (predicted + support) > 0
    safe = lambda top, bottom: np.where(bottom > 0, top / np.maximum(bottom, 1), 0.0)  # noqa: E731
    return {
        "test/precision": safe(tp, predicted)[seen].mean(),
        "test/recall": safe(tp, support)[seen].mean(),
        "test/f1": safe(2 * tp, predicted + support)[seen].mean(),
        "samples": counts.sum(),
    }


def fit_image_folder(tmp_path: Path, loader: str) -> Path:
    root = write_image_folder(tmp_path / "images", {"train": 14, "test": 9}, classes=CLASSES)
    for extra in range(5):  # unequal classes: "dog" has 5 more test images
        (root / "test" / "dog" / f"extra{extra}.png").hardlink_to(root / "test" / "dog" / "0000.png")
    main([
        "fit", "--config", str(CONFIGS / "cifar10_jpg_cnn.yaml"),
        "--model.init_args.backbone", "litlab.models.SimpleCNN",
        "--data.init_args.root", str(root), "--data.init_args.loader", loader,
        "--data.init_args.batch_size", "8", "--data.init_args.num_workers", "0",
        "--data.init_args.augmentation.crop_padding", "1",
        "--trainer.max_epochs", "2", "--trainer.enable_progress_bar", "false",
        "--trainer.logger.init_args.save_dir", str(tmp_path / "logs"),
    ])  # fmt: skip
    (run,) = (tmp_path / "logs" / "cifar10_jpg_cnn").iterdir()  # one run folder: the test did not open another
    return run


@pytest.mark.parametrize("loader", ["memory", "torchvision"])
def test_fit_tests_its_best_checkpoint_into_the_same_run(
    tmp_path: Path, loader: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO"):
        run = fit_image_folder(tmp_path, loader)
    out = caplog.text
    report = json.loads((run / "test_metrics.json").read_text())
    best = next(run.glob("checkpoints/epoch*.ckpt"))
    assert report["ckpt_path"] == str(best.resolve())
    assert "Testing the best checkpoint by val/acc = " in out and str(best.name) in out
    from_counts = scores_from_confusion(run)
    assert from_counts["samples"] == report["num_samples"] == 9 * len(CLASSES) + 5  # each test image once
    for name in ("test/precision", "test/recall", "test/f1"):
        assert report["metrics"][name] == pytest.approx(from_counts[name], abs=1e-4), name
    for name in ("per_class.csv", "roc.png", "roc_auc.csv", "reliability.png", "confusion_matrix.png", "config.yaml"):
        assert (run / name).is_file(), name
    events = EventAccumulator(str(run), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    assert {"test/acc", "test/auroc", "test/ece", "val/acc_best"} <= set(events.Tags()["scalars"])
    images = set(events.Tags()["images"])
    assert {"test/roc_curves", "test/reliability_diagram", "test/confusion_matrix"} <= images
    assert events.Scalars("test/auroc")[-1].value == pytest.approx(report["metrics"]["test/auroc"])


def test_test_after_fit_can_be_switched_off(tmp_path: Path) -> None:
    main([
        "fit", "--config", str(CONFIGS / "synthetic_mlp.yaml"), "--test_after_fit", "false",
        "--trainer.max_epochs", "1", "--data.init_args.sizes", "[64, 32, 32]", "--trainer.enable_progress_bar", "false",
        "--trainer.logger.init_args.save_dir", str(tmp_path / "logs"),
    ])  # fmt: skip
    (run,) = (tmp_path / "logs" / "synthetic_mlp").iterdir()
    assert (run / "checkpoints" / "last.ckpt").is_file() and not (run / "test_metrics.json").exists()


@pytest.mark.slow
@pytest.mark.parametrize("loader", ["memory", "torchvision"])
def test_two_ddp_processes_test_to_the_one_process_values(tmp_path: Path, loader: str) -> None:
    run = fit_image_folder(tmp_path, loader)
    one_process = json.loads((run / "test_metrics.json").read_text())
    best = one_process["ckpt_path"]
    ddp = ["--config", str(CONFIGS / "trainer" / "ddp.yaml"), "--trainer.accelerator", "cpu", "--trainer.devices", "2"]
    result = subprocess.run(
        [sys.executable, "-m", "litlab", "test", "--config", str(run / "config.yaml"), *ddp, "--ckpt_path", best],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert [p.name for p in run.parent.iterdir()] == [run.name]  # logged into the training run, not a new one
    two_processes = json.loads((run / "test_metrics.json").read_text())
    assert two_processes["num_samples"] == one_process["num_samples"]
    for name, value in one_process["metrics"].items():
        assert two_processes["metrics"][name] == pytest.approx(value, abs=1e-6), name
    from_counts = scores_from_confusion(run)
    for name in ("test/precision", "test/recall", "test/f1"):
        assert two_processes["metrics"][name] == pytest.approx(from_counts[name], abs=1e-4), name
