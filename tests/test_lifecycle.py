"""One real training run, then everything a user does with it: read TensorBoard, evaluate, resume, re-run."""

from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import fast_synthetic_args
from litlab.command.cli import build_cli


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 2-epoch synthetic run: logs/synthetic_mlp/version_0 with checkpoints, config and events."""
    logs = tmp_path_factory.mktemp("logs")
    cli = build_cli(["fit", *fast_synthetic_args(logs, epochs=2)])
    assert cli.trainer.current_epoch == 2
    return Path(cli.trainer.log_dir)


def scalars(run: Path) -> dict[str, list[float]]:
    events = EventAccumulator(str(run), size_guidance={"scalars": 0})
    events.Reload()
    return {tag: [e.value for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_checkpoints_are_named_by_epoch_and_metric(run_dir: Path) -> None:
    names = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert "last.ckpt" in names
    best = [n for n in names if n != "last.ckpt"]
    assert len(best) == 1 and best[0].startswith("epoch00") and "-val_acc0." in best[0]


def test_tensorboard_holds_the_logged_scalars(run_dir: Path) -> None:
    logged = scalars(run_dir)
    for tag in ("train/loss", "train/acc", "val/loss", "val/acc", "val/acc_top5", "val/precision", "val/recall",
                "val/f1", "val/acc_best", "train/lr", "epoch"):  # fmt: skip
        assert tag in logged, f"{tag} missing from {sorted(logged)}"
    assert len(logged["val/acc"]) == 2 and all(0.0 <= v <= 1.0 for v in logged["val/acc"])
    assert logged["val/acc_best"][-1] == pytest.approx(max(logged["val/acc"]))
    assert logged["train/lr"][0] > logged["train/lr"][-1]  # cosine annealing moved the learning rate


def test_validate_from_best_checkpoint_reproduces_its_score(run_dir: Path, tmp_path: Path) -> None:
    ckpt = next(p for p in (run_dir / "checkpoints").iterdir() if p.name != "last.ckpt")
    recorded = float(ckpt.stem.split("val_acc")[1])
    cli = build_cli(["validate", *fast_synthetic_args(tmp_path), "--ckpt_path", str(ckpt)])
    assert cli.trainer.callback_metrics["val/acc"].item() == pytest.approx(recorded, abs=1e-4)


def test_test_from_checkpoint_prints_a_metric_table(run_dir: Path, tmp_path: Path, capsys) -> None:
    cli = build_cli(["test", *fast_synthetic_args(tmp_path), "--ckpt_path", str(run_dir / "checkpoints" / "last.ckpt")])
    metrics = cli.trainer.callback_metrics
    assert {"test/acc", "test/acc_top5", "test/precision", "test/recall", "test/f1", "test/loss"} <= set(metrics)
    out = capsys.readouterr().out
    assert "test/acc" in out and "test/f1" in out
    assert "true \\ pred" in out  # the confusion matrix, labelled by class


def test_resume_from_last_continues_the_epoch_count(run_dir: Path, tmp_path: Path) -> None:
    last = run_dir / "checkpoints" / "last.ckpt"
    saved = torch.load(last, map_location="cpu", weights_only=True)
    cli = build_cli(["fit", *fast_synthetic_args(tmp_path, epochs=3), "--ckpt_path", str(last)])
    assert saved["epoch"] == 1 and cli.trainer.current_epoch == 3
    steps_per_epoch = saved["global_step"] // 2
    assert cli.trainer.global_step == saved["global_step"] + steps_per_epoch  # exactly one more epoch was trained
    assert len(scalars(Path(cli.trainer.log_dir))["val/acc"]) == 1


def test_saved_config_reruns_and_records_the_seed(run_dir: Path, tmp_path: Path) -> None:
    saved = run_dir / "config.yaml"
    text = saved.read_text()
    assert "seed_everything: 42" in text and "class_path: litlab.models.MLP" in text
    cli = build_cli(["fit", "--config", str(saved), "--trainer.logger.init_args.save_dir", str(tmp_path),
                     "--trainer.max_epochs", "1"])  # fmt: skip
    assert cli.trainer.current_epoch == 1
    assert (Path(cli.trainer.log_dir) / "config.yaml").read_text().replace("max_epochs: 1", "max_epochs: 2").replace(
        str(tmp_path), str(run_dir.parents[1])
    ) == text


def test_predict_from_checkpoint_returns_class_probabilities(run_dir: Path, tmp_path: Path) -> None:
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    args = [*fast_synthetic_args(tmp_path), "--ckpt_path", str(ckpt), "--return_predictions", "true"]
    cli = build_cli(["predict", *args])
    batches = cli.trainer.predict_loop.predictions
    probabilities = torch.cat(batches)
    assert probabilities.shape == (256, 10)
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(256))
