"""Binary and multi-label tasks train end to end from their shipped configs, and their dashboards show the
pictures that fit the task: a 2x2 confusion matrix for binary, per-label scores and curves for multi-label."""

import json
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import CONFIGS
from litlab.cli import main


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
