"""Losses from YAML: the focal loss against its formula, class weights from a list or "balanced", regression
losses, and `test/objective` (the training objective) beside `test/loss` (plain, comparable) in a real run."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from conftest import CONFIGS, fast_synthetic_args, oracle_classification, oracle_regression
from litlab.command.cli import main
from litlab.tasks.losses import FocalLoss, balanced_class_weights, balanced_pos_weight
from oracle_modules import save_logits

TOLERANCE = dict(rel=1e-5, abs=1e-6)


def focal_numpy(logits: np.ndarray, labels: np.ndarray, gamma: float, weight: np.ndarray | None) -> float:
    """-w_y (1 - p_y)^gamma log p_y, summed and divided by the summed weights, in float64."""
    logits = logits.astype(np.float64)
    log_p = logits - logits.max(axis=1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    log_p_true = log_p[np.arange(len(labels)), labels]
    w = np.ones(len(labels)) if weight is None else weight[labels].astype(np.float64)
    return float(np.sum(-w * (1 - np.exp(log_p_true)) ** gamma * log_p_true) / w.sum())


def chosen_logits(size: int = 101, classes: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    labels = torch.multinomial(torch.tensor([6.0, 3, 1, 1]), size, replacement=True, generator=generator)
    logits = 2 * torch.randn(size, classes, generator=generator)
    logits[torch.arange(size), labels] += 1.0
    logits[:8, 0] = 12.0  # confident samples, right and wrong: (1 - p)^gamma is far from 1 for them
    return logits, labels


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_focal_loss_equals_its_formula(gamma: float, weighted: bool) -> None:
    logits, labels = chosen_logits()
    weight = torch.tensor([0.5, 1.0, 3.0, 2.0]) if weighted else None
    loss = FocalLoss(gamma)
    if weight is not None:
        loss.register_buffer("weight", weight)
    expected = focal_numpy(logits.numpy(), labels.numpy(), gamma, None if weight is None else weight.numpy())
    assert loss(logits, labels).item() == pytest.approx(expected, rel=1e-5)
    if gamma == 0:  # and it is exactly cross-entropy, weighted the same way
        assert loss(logits, labels).item() == pytest.approx(F.cross_entropy(logits, labels, weight=weight).item())


def test_balanced_weights_count_the_labels() -> None:
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 3])  # class 2 absent: weight 0, not a division by zero
    counts = np.array([4, 2, 0, 1])
    expected = np.where(counts > 0, 7 / (4 * np.maximum(counts, 1)), 0)
    np.testing.assert_allclose(balanced_class_weights(labels, 4).numpy(), expected, rtol=1e-6)
    targets = torch.tensor([[1, 0], [0, 0], [1, 1], [0, 0]])
    np.testing.assert_allclose(balanced_pos_weight(targets).numpy(), [2 / 2, 3 / 1], rtol=1e-6)


def printed_metrics(out: str, stage: str = "test") -> dict[str, float]:
    return {m[1]: float(m[2]) for m in re.finditer(rf"^\s*({stage}/\w+)\s+([-0-9.e]+)\s*$", out, re.M)}


def logits_run(tmp_path: Path, data: Path, *extra: str) -> list[str]:
    return [
        "--config", str(CONFIGS / "synthetic_mlp.yaml"),
        "--trainer.logger.init_args.save_dir", str(tmp_path / "logs"),
        "--trainer.enable_progress_bar", "false",
        "--model.init_args.backbone", "oracle_modules.PassThrough",
        "--data", "oracle_modules.LogitsData", "--data.init_args.path", str(data),
        "--data.init_args.batch_size", "16", *extra,
    ]  # fmt: skip


def test_test_reports_the_weighted_objective_beside_the_plain_loss(tmp_path: Path, capsys) -> None:
    logits, labels = chosen_logits()
    data = save_logits(tmp_path / "logits.pt", logits, labels)
    weight = [0.5, 1.0, 3.0, 2.0]
    main(["test", *logits_run(tmp_path, data, "--model.init_args.loss", "litlab.tasks.losses.FocalLoss",
                               "--model.init_args.loss.init_args.gamma", "2", "--model.init_args.class_weight",
                               json.dumps(weight))])  # fmt: skip
    printed = printed_metrics(capsys.readouterr().out)
    (run,) = (tmp_path / "logs" / "synthetic_mlp").iterdir()
    from_json = json.loads((run / "test_metrics.json").read_text())["metrics"]
    objective = focal_numpy(logits.numpy(), labels.numpy(), 2.0, np.array(weight))
    plain = oracle_classification(logits.numpy(), labels.numpy())["loss"]
    for values in (printed, from_json):
        assert values["test/objective"] == pytest.approx(objective, **TOLERANCE)
        assert values["test/loss"] == pytest.approx(plain, **TOLERANCE)


def test_balanced_weights_are_computed_from_training_labels_and_kept_in_the_checkpoint(tmp_path: Path) -> None:
    """A focal loss (gamma 0.5) whose class weights come from the labels; fit ends by testing the
    checkpoint, so the weights were saved and loaded with it. Every split is the same chosen logits."""
    logits, labels = chosen_logits(seed=1)
    data = save_logits(tmp_path / "logits.pt", logits, labels)
    main(["fit", *logits_run(tmp_path, data, "--model.init_args.backbone", "oracle_modules.TrainablePassThrough",
                              "--model.init_args.loss", "litlab.tasks.losses.FocalLoss",
                              "--model.init_args.loss.init_args.gamma", "0.5", "--model.init_args.class_weight",
                              "balanced", "--trainer.max_epochs", "1")])  # fmt: skip
    (run,) = (tmp_path / "logs" / "synthetic_mlp").iterdir()
    metrics = json.loads((run / "test_metrics.json").read_text())["metrics"]
    counts = np.bincount(labels.numpy(), minlength=4)
    weight = len(labels) / (4 * counts)
    expected = focal_numpy(logits.numpy(), labels.numpy(), 0.5, weight)
    assert metrics["test/objective"] == pytest.approx(expected, **TOLERANCE)
    checkpoint = torch.load(next((run / "checkpoints").glob("last.ckpt")), weights_only=True)
    np.testing.assert_allclose(checkpoint["state_dict"]["loss.weight"].numpy(), weight, rtol=1e-6)


REGRESSION_LOSSES = {
    "torch.nn.L1Loss": lambda d: np.abs(d),
    "torch.nn.SmoothL1Loss": lambda d: np.where(np.abs(d) < 1, 0.5 * d**2, np.abs(d) - 0.5),
    "torch.nn.HuberLoss": lambda d: np.where(np.abs(d) <= 1, 0.5 * d**2, np.abs(d) - 0.5),
    "torch.nn.MSELoss": lambda d: d**2,
}


@pytest.mark.parametrize("loss", REGRESSION_LOSSES)
def test_regression_losses_are_reported_as_the_objective(tmp_path: Path, capsys, loss: str) -> None:
    generator = torch.Generator().manual_seed(4)
    targets = 3 * torch.randn(77, 2, generator=generator)
    predictions = targets + 2 * torch.randn(77, 2, generator=generator)  # errors on both sides of 1
    data = save_logits(tmp_path / "pairs.pt", predictions, targets)
    main([
        "test", "--config", str(CONFIGS / "synthetic_regression.yaml"),
        "--trainer.logger.init_args.save_dir", str(tmp_path / "logs"), "--trainer.enable_progress_bar", "false",
        "--model.init_args.backbone", "oracle_modules.PassThrough", "--model.init_args.loss", loss,
        "--data", "oracle_modules.PredictionsData", "--data.init_args.path", str(data),
    ])  # fmt: skip
    printed = printed_metrics(capsys.readouterr().out)
    difference = (predictions - targets).double().numpy()
    assert printed["test/objective"] == pytest.approx(REGRESSION_LOSSES[loss](difference).mean(), **TOLERANCE)
    expected = oracle_regression(predictions.numpy(), targets.numpy())
    assert printed["test/loss"] == pytest.approx(expected["mse"], **TOLERANCE)


def test_a_run_trains_with_focal_loss_and_label_smoothing_is_refused_for_it(tmp_path: Path, capsys) -> None:
    args = fast_synthetic_args(tmp_path / "logs", epochs=2)
    main(["fit", *args, "--model.init_args.loss", "litlab.tasks.losses.FocalLoss", "--trainer.callbacks", "[]"])
    (run,) = (tmp_path / "logs" / "synthetic_mlp").iterdir()
    metrics = printed_metrics(capsys.readouterr().out)
    assert metrics["test/acc"] > 0.3  # 10 classes: chance is 0.1
    with pytest.raises(SystemExit) as stopped:
        main(["fit", *args, "--model.init_args.loss", "litlab.tasks.losses.FocalLoss",
              "--model.init_args.label_smoothing", "0.1"])  # fmt: skip
    assert stopped.value.code == 2
    assert "has no label smoothing" in capsys.readouterr().err


def test_training_targets_are_read_from_each_kind_of_dataset() -> None:
    from torch.utils.data import Subset, TensorDataset

    from litlab.data import ImageTensors
    from litlab.tasks.losses import _dataset_targets

    labels = torch.tensor([2, 0, 1, 1, 0])
    images = torch.zeros(5, 1, 2, 2, dtype=torch.uint8)
    assert _dataset_targets(TensorDataset(images, labels)).tolist() == labels.tolist()
    assert _dataset_targets(ImageTensors(images, labels, [0.5], [0.5])).tolist() == labels.tolist()
    assert _dataset_targets(Subset(TensorDataset(images, labels), [4, 0])).tolist() == [0, 2]


def test_a_torch_loss_takes_its_weight_as_a_yaml_list(tmp_path: Path, capsys) -> None:
    """`loss.init_args.weight: [...]` reaches CrossEntropyLoss as a Tensor: the weighted objective by numpy, and
    the run's config.yaml keeps the list."""
    logits, labels = chosen_logits(seed=2)
    data = save_logits(tmp_path / "logits.pt", logits, labels)
    weight = [0.5, 1.0, 3.0, 2.0]
    main(["test", *logits_run(tmp_path, data, "--model.init_args.loss", "torch.nn.CrossEntropyLoss",
                               "--model.init_args.loss.init_args.weight", json.dumps(weight))])  # fmt: skip
    printed = printed_metrics(capsys.readouterr().out)
    expected = focal_numpy(logits.numpy(), labels.numpy(), 0.0, np.array(weight))  # gamma 0: weighted cross-entropy
    assert printed["test/objective"] == pytest.approx(expected, **TOLERANCE)
    (run,) = (tmp_path / "logs" / "synthetic_mlp").iterdir()
    saved = yaml.safe_load((run / "config.yaml").read_text())["model"]["init_args"]["loss"]["init_args"]
    assert saved["weight"] == weight


@pytest.mark.parametrize(
    ("config", "loss", "key", "value", "message"),
    [
        ("synthetic_mlp", "torch.nn.CrossEntropyLoss", "weight", "[1, 2]",
         "loss.init_args.weight of CrossEntropyLoss has 2 values, but the data has 10 classes (num_classes); give 10"),
        ("synthetic_mlp", "torch.nn.NLLLoss", "weight", "[1, two]",
         "model.init_args.loss.init_args.weight: expected a number or a list of numbers"),
        ("synthetic_mlp", "litlab.tasks.losses.FocalLoss", "gamma", "[1, 2]", "model.init_args.loss.init_args.gamma"),
        ("synthetic_multilabel", "torch.nn.BCEWithLogitsLoss", "pos_weight", "[1, 2]",
         "loss.init_args.pos_weight of BCEWithLogitsLoss has 2 values, but the data has 5 labels (num_labels)"),
    ],
)  # fmt: skip
def test_a_bad_loss_weight_is_one_line_naming_the_count_or_type(
    tmp_path: Path, capsys, config: str, loss: str, key: str, value: str, message: str
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["fit", "--config", str(CONFIGS / f"{config}.yaml"), "--trainer.logger.init_args.save_dir",
              str(tmp_path / "logs"), "--model.init_args.loss", loss, f"--model.init_args.loss.init_args.{key}",
              value])  # fmt: skip
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("litlab: error:")]
    assert message in line
