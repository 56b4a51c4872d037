"""`litlab predict` of binary and multi-label runs: predictions.csv holds the predicted class or labels and the
probabilities, checked against the checkpoint's weights applied here with plain tensor arithmetic; the summary
counts what was predicted (classes for binary, positives per label for multi-label)."""

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import CONFIGS, read_csv_rows
from litlab.callbacks import prediction_columns
from litlab.checkpoints.export import load_checkpoint
from litlab.command.cli import main


def fit_and_predict(kind: str, logs: Path) -> tuple[Path, str]:
    """configs/synthetic_<kind>.yaml for one epoch on a few hundred samples, then `litlab predict` of it."""
    main(["fit", "--config", str(CONFIGS / f"synthetic_{kind}.yaml"), "--data.init_args.sizes", "[256, 64, 96]",
          "--trainer.max_epochs", "1", "--trainer.log_every_n_steps", "1", "--trainer.enable_progress_bar", "false",
          "--trainer.enable_model_summary", "false", "--test_after_fit", "false",
          "--trainer.logger.init_args.save_dir", str(logs)])  # fmt: skip
    (run,) = logs.glob("*/version_0")
    main(["predict", "--config", str(run / "config.yaml"), "--ckpt_path", str(run / "checkpoints" / "last.ckpt"),
          "--trainer.enable_progress_bar", "false"])  # fmt: skip
    return run, str(run / "predictions.csv")


def probabilities_from_weights(run: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """sigmoid of the MLP in the checkpoint (Linear, GELU, ..., Linear, from its raw weights) on the test inputs;
    the test targets; the class or label names."""
    ckpt = run / "checkpoints" / "last.ckpt"
    weights = torch.load(ckpt, weights_only=True)["state_dict"]
    _, data = load_checkpoint(ckpt)
    data.setup("test")
    x, targets = data.test_set.tensors
    x = x.double().flatten(1)
    layers = sorted({int(k.split(".")[2]) for k in weights if k.startswith("backbone.layers.")})
    for i, layer in enumerate(layers):
        weight, bias = (weights[f"backbone.layers.{layer}.{name}"].double() for name in ("weight", "bias"))
        x = x @ weight.T + bias
        x = F.gelu(x) if i < len(layers) - 1 else x
    return torch.sigmoid(x).numpy(), targets.numpy(), list(data.class_names)


def test_binary_predictions_name_the_class_and_give_the_positive_probability(tmp_path: Path, capsys) -> None:
    run, path = fit_and_predict("binary", tmp_path / "logs")
    out = capsys.readouterr().out
    rows = read_csv_rows(Path(path))
    p, targets, names = probabilities_from_weights(run)
    p = p[:, 0]
    assert names == ["negative", "positive"] and len(rows) == 96
    assert list(rows[0]) == ["index", "label", "predicted", "probability_positive"]
    np.testing.assert_allclose([float(r["probability_positive"]) for r in rows], p, atol=2e-6)
    clear = np.abs(p - 0.5) > 1e-5  # the threshold is 0.5; a probability within rounding of it could go either way
    assert [r["predicted"] for r, c in zip(rows, clear, strict=True) if c] == [names[int(v >= 0.5)] for v in p[clear]]
    assert [r["label"] for r in rows] == [names[int(t)] for t in targets]
    positives = int((p >= 0.5).sum())
    assert "Predicted classes (threshold 0.5): " in out and f"positive {positives} ({positives / 96:.0%})" in out
    agree = int(((p >= 0.5) == (targets > 0.5)).sum())
    assert f"Agrees with the label on {agree} of 96 labeled inputs" in out


def test_multilabel_predictions_list_the_labels_on_and_each_probability(tmp_path: Path, capsys) -> None:
    run, path = fit_and_predict("multilabel", tmp_path / "logs")
    out = capsys.readouterr().out
    rows = read_csv_rows(Path(path))
    p, targets, names = probabilities_from_weights(run)
    assert list(rows[0]) == ["index", "label", "predicted", *(f"probability_{n}" for n in names)]
    written = np.array([[float(r[f"probability_{n}"]) for n in names] for r in rows])
    np.testing.assert_allclose(written, p, atol=2e-6)
    if np.abs(p - 0.5).min() <= 1e-5:
        pytest.skip("a probability within rounding of the threshold could go either way")
    assert [r["predicted"] for r in rows] == [";".join(n for n, on in zip(names, row, strict=True) if on)
                                              for row in p >= 0.5]  # fmt: skip
    assert [r["label"] for r in rows] == [";".join(n for n, on in zip(names, row, strict=True) if on)
                                          for row in targets > 0.5]  # fmt: skip
    counts = ", ".join(f"{n} {c} ({c / len(p):.0%})" for n, c in zip(names, (p >= 0.5).sum(0).tolist(), strict=True))
    assert f"Predicted positives per label (threshold 0.5): {counts}" in out
    labeled = ", ".join(f"{n} {c}" for n, c in zip(names, (targets > 0.5).sum(0).tolist(), strict=True))
    assert f"Labeled positives per label: {labeled}" in out
    exact = int(((p >= 0.5) == (targets > 0.5)).all(1).sum())
    assert f"Every label right on {exact} of {len(p)} inputs" in out


def test_a_tasks_own_threshold_decides_what_is_predicted() -> None:
    p = torch.tensor([[0.2, 0.65], [0.75, 0.4], [0.69, 0.9]])
    _, rows, summary = prediction_columns.binary(p[:, 0], None, ["no", "yes"], 0.7)
    assert [r[0] for r in rows] == ["no", "yes", "no"] and "(threshold 0.7): no 2 (67%), yes 1 (33%)" in summary
    _, rows, summary = prediction_columns.multilabel(p, None, ["cat", "dog"], [0.7, 0.5])  # one per label
    assert [r[0] for r in rows] == ["dog", "cat", "dog"]
    assert "(thresholds 0.7, 0.5): cat 1 (33%), dog 2 (67%)" in summary
