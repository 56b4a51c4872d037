"""Binary and multi-label tasks report what counting in numpy gives (`conftest.oracle_binary`, `oracle_multilabel`).

The logits are chosen (a pass-through backbone): the first batch is classified perfectly, one batch's logits
all lie in [0, 1] (probabilities by accident), the last batch holds one sample; multi-label adds a label that is
never positive and never predicted (left out of the macro scores), one always positive (no AUROC), and a rare one.
"""

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import CONFIGS, oracle_binary, oracle_multilabel
from litlab.command.cli import main
from oracle_modules import save_logits

SIZE, BATCH, LABELS = 113, 16, 5  # 113 = 7 batches of 16 + 1; odd, so 2 processes get 57 and 56
TESTS = Path(__file__).resolve().parent
TOLERANCE = dict(rel=1e-5, abs=1e-6)


def printed(out: str) -> dict[str, float]:
    return {m[1]: float(m[2]) for m in re.finditer(r"^\s*(test/\w+)\s+([-0-9.e]+)\s*$", out, re.M)}


def chosen_logits(targets: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    logits = 2 * torch.randn(targets.shape, generator=generator) + 1.5 * (2 * targets - 1)
    logits[:BATCH] = 4 * (2 * targets[:BATCH] - 1)  # first batch: every decision right
    logits[BATCH : 2 * BATCH] = torch.rand(targets[BATCH : 2 * BATCH].shape, generator=generator)  # in [0, 1]
    return logits


def litlab_args(tmp_path: Path, config: str, data: Path, *extra: str) -> list[str]:
    return [
        "test", "--config", str(CONFIGS / config),
        "--trainer.logger.init_args.save_dir", str(tmp_path / "logs"), "--trainer.enable_progress_bar", "false",
        "--model.init_args.backbone", "oracle_modules.PassThrough",
        "--data", "oracle_modules.LabelLogitsData", "--data.init_args.path", str(data),
        "--data.init_args.batch_size", str(BATCH), *extra,
    ]  # fmt: skip


def run_test(tmp_path: Path, args: list[str], capsys: pytest.CaptureFixture | None) -> tuple[Path, str]:
    """`litlab test` in this process (capsys given), or as 2 DDP processes on the CPU; the run and its stdout."""
    if capsys is not None:
        main(args)
        out = capsys.readouterr().out
    else:
        ddp = ["--config", str(CONFIGS / "trainer" / "ddp.yaml"), "--trainer.accelerator", "cpu",
               "--trainer.devices", "2"]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
        result = subprocess.run([sys.executable, "-m", "litlab", *args, *ddp], cwd=tmp_path, capture_output=True,
                                text=True, timeout=600, env=env)  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        out = result.stdout
    (run,) = (tmp_path / "logs").glob("*/version_*")
    return run, out


def check_binary(tmp_path: Path, capsys: pytest.CaptureFixture | None) -> None:
    generator = torch.Generator().manual_seed(0)
    targets = (torch.rand(SIZE, generator=generator) < 0.3).float()
    logits = chosen_logits(targets, generator)
    data = save_logits(tmp_path / "l.pt", logits[:, None], targets)
    args = litlab_args(tmp_path, "synthetic_binary.yaml", data, "--model.init_args.pos_weight", "3")
    run, out = run_test(tmp_path, args, capsys)
    expected = oracle_binary(logits.numpy(), targets.numpy())
    views = {"printed": printed(out), "json": json.loads((run / "test_metrics.json").read_text())["metrics"]}
    for name in ("acc", "precision", "recall", "f1", "auroc", "ece", "loss"):
        for where, values in views.items():
            assert values[f"test/{name}"] == pytest.approx(expected[name], **TOLERANCE), (name, where)
    z, y = logits.double().numpy(), targets.double().numpy()
    weighted = np.mean(-(3 * y * np.log(1 / (1 + np.exp(-z))) + (1 - y) * np.log(1 - 1 / (1 + np.exp(-z)))))
    assert views["json"]["test/objective"] == pytest.approx(weighted, **TOLERANCE)  # BCE with pos_weight 3
    with (run / "confusion_matrix.csv").open() as file:
        counts = np.array([[int(v) for v in row[1:]] for row in list(csv.reader(file))[1:]])
    positive, predicted = targets.numpy().astype(bool), logits.numpy() > 0
    truth = [[np.sum(~positive & ~predicted), np.sum(~positive & predicted)],
             [np.sum(positive & ~predicted), np.sum(positive & predicted)]]  # fmt: skip
    np.testing.assert_array_equal(counts, truth)
    with (run / "roc_auc.csv").open() as file:
        areas = {row["class"]: float(row["auroc"]) for row in csv.DictReader(file)}
    assert areas["positive"] == pytest.approx(expected["auroc"], abs=1e-5)


def test_binary_metrics_equal_the_oracle(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    check_binary(tmp_path, capsys)


@pytest.mark.slow
def test_two_ddp_processes_report_the_binary_oracle_values(tmp_path: Path) -> None:
    check_binary(tmp_path, capsys=None)


def check_multilabel(tmp_path: Path, capsys: pytest.CaptureFixture | None) -> None:
    generator = torch.Generator().manual_seed(1)
    targets = (torch.rand(SIZE, LABELS, generator=generator) < torch.tensor([0.5, 0.3, 0.05, 0, 1])).float()
    logits = chosen_logits(targets, generator)
    logits[:, 3] = -8.0  # label 3: never positive, never predicted
    data = save_logits(tmp_path / "l.pt", logits, targets)
    run, out = run_test(tmp_path, litlab_args(tmp_path, "synthetic_multilabel.yaml", data), capsys)
    expected = oracle_multilabel(logits.numpy(), targets.numpy())
    assert expected["acc"] > expected["f1"]  # a metric computed from another's state would show
    views = {"printed": printed(out), "json": json.loads((run / "test_metrics.json").read_text())["metrics"]}
    for name in ("acc", "exact_match", "precision", "recall", "f1", "auroc", "loss"):
        for where, values in views.items():
            assert values[f"test/{name}"] == pytest.approx(expected[name], **TOLERANCE), (name, where)
    with (run / "per_label.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert not (run / "confusion_matrix.csv").exists()  # no class confusion matrix for independent labels
    for j, row in enumerate(rows):
        for name in ("precision", "recall", "f1"):
            assert float(row[name]) == pytest.approx(expected["per_label"][j][name], abs=1e-6), (j, name)
        assert float(row["best_f1"]) == pytest.approx(expected["best_f1"][j], abs=1e-6), j
        if j in expected["auroc_per_label"]:
            assert float(row["auroc"]) == pytest.approx(expected["auroc_per_label"][j], abs=1e-5)
        else:
            assert row["auroc"] == "nan"


def test_multilabel_metrics_equal_the_oracle(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    check_multilabel(tmp_path, capsys)


@pytest.mark.slow
def test_two_ddp_processes_report_the_multilabel_oracle_values(tmp_path: Path) -> None:
    check_multilabel(tmp_path, capsys=None)
