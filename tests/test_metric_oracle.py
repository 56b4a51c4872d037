"""Every number litlab reports equals an independent computation (numpy counting in `conftest`).

The logits are chosen, not learned (`oracle_modules`): the first batch is classified perfectly (the case that
made torchmetrics merge top-5 and macro states and report F1 above 1), one batch holds logits that all lie in
[0, 1] (scored as probabilities by torchmetrics if given raw), one class is predicted but never a target,
another is neither, a third occurs once (so one of two processes never sees it), the last batch holds one
sample, and the set size divides by neither the batch size nor two processes. bf16 logits are rounded first,
as a bf16 model emits them.
"""

import csv
import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import CONFIGS, oracle_classification, oracle_regression
from litlab.command.cli import main
from oracle_modules import save_logits

TESTS = Path(__file__).resolve().parent
NUM_CLASSES, SIZE, BATCH = 8, 209, 16  # 209 = 13 batches of 16 + 1; odd, so 2 processes get 105 and 104
TOLERANCE = dict(rel=1e-5, abs=1e-6)  # float32 sums in another order; counts are exact


def adversarial_logits(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    labels = torch.multinomial(torch.tensor([8.0, 4, 2, 1, 1, 0, 0, 0]), SIZE, replacement=True, generator=generator)
    labels[SIZE // 2] = 5  # class 5: one sample, so one DDP process never sees it
    logits = 1.5 * torch.randn(SIZE, NUM_CLASSES, generator=generator)
    logits[torch.arange(SIZE), labels] += 1.2
    logits[:, 7] -= 20  # class 7: never a target, never predicted
    logits[:BATCH] = torch.randn(BATCH, NUM_CLASSES, generator=generator) * 0.1
    logits[torch.arange(BATCH), labels[:BATCH]] = 6.0  # first batch: every sample right, by a wide margin
    logits[BATCH : 2 * BATCH] = torch.rand(BATCH, NUM_CLASSES, generator=generator)  # all inside [0, 1]
    wrong = torch.arange(2 * BATCH, SIZE, 9)
    logits[wrong, 6] = 9.0  # class 6: predicted now and then, never a target
    return logits, labels


def litlab_args(log_dir: Path, data: Path, bf16: bool) -> list[str]:
    return [
        "--config", str(CONFIGS / "synthetic_mlp.yaml"),
        "--trainer.logger.init_args.save_dir", str(log_dir),
        "--trainer.enable_progress_bar", "false",
        "--model.init_args.backbone", "oracle_modules.PassThrough",
        "--model.init_args.backbone.init_args.bf16", str(bf16).lower(),
        "--data", "oracle_modules.LogitsData",
        "--data.init_args.path", str(data),
        "--data.init_args.batch_size", str(BATCH),
    ]  # fmt: skip


def reported(run: Path, stdout: str) -> dict[str, dict[str, float]]:
    """The test metrics as the four places a user reads them: JSON, printed table, TensorBoard scalars."""
    from_json = json.loads((run / "test_metrics.json").read_text())["metrics"]
    printed = {m[1]: float(m[2]) for m in re.finditer(r"^\s*(test/\w+)\s+([-0-9.e]+)\s*$", stdout, re.M)}
    events = EventAccumulator(str(run), size_guidance={"scalars": 0})
    events.Reload()
    scalars = {tag: events.Scalars(tag)[-1].value for tag in events.Tags()["scalars"] if tag.startswith("test/")}
    return {"json": from_json, "printed": printed, "tensorboard": scalars}


def assert_matches_oracle(run: Path, stdout: str, logits: torch.Tensor, labels: torch.Tensor) -> None:
    expected = oracle_classification(logits.double().numpy(), labels.numpy())
    assert expected["precision"] < 1 and expected["acc_top5"] > expected["f1"]  # the data can expose a merge
    views = reported(run, stdout)
    for name in ("acc", "acc_top5", "precision", "recall", "f1", "auroc", "ece", "loss"):
        for where, values in views.items():
            assert values[f"test/{name}"] == pytest.approx(expected[name], **TOLERANCE), (name, where)
    with (run / "confusion_matrix.csv").open() as file:
        counts = np.array([[int(v) for v in row[1:]] for row in list(csv.reader(file))[1:]])
    np.testing.assert_array_equal(counts, expected["confusion"])  # each sample scored exactly once
    with (run / "roc_auc.csv").open() as file:
        per_class = {int(row["class"][1:]): float(row["auroc"]) for row in csv.DictReader(file)}
    assert per_class.keys() == expected["auroc_per_class"].keys()  # classes 6 and 7 are never targets
    for k, area in per_class.items():
        assert area == pytest.approx(expected["auroc_per_class"][k], abs=1e-5)


@pytest.mark.parametrize("bf16", [False, True], ids=["float32", "bf16"])
def test_one_process_reports_the_oracle_values(tmp_path: Path, capsys: pytest.CaptureFixture, bf16: bool) -> None:
    logits, labels = adversarial_logits()
    data = save_logits(tmp_path / "logits.pt", logits, labels)
    main(["test", *litlab_args(tmp_path / "logs", data, bf16)])
    (run,) = (tmp_path / "logs" / "synthetic_mlp").iterdir()
    scored = logits.bfloat16() if bf16 else logits
    assert_matches_oracle(run, capsys.readouterr().out, scored, labels)


def test_validation_metrics_equal_the_oracle(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    logits, labels = adversarial_logits(seed=1)
    data = save_logits(tmp_path / "logits.pt", logits, labels)
    main(["validate", *litlab_args(tmp_path / "logs", data, bf16=False)])
    out = capsys.readouterr().out
    printed = {m[1]: float(m[2]) for m in re.finditer(r"^\s*(val/\w+)\s+([-0-9.e]+)\s*$", out, re.M)}
    expected = oracle_classification(logits.numpy(), labels.numpy())
    for name in ("acc", "acc_top5", "precision", "recall", "f1", "auroc", "ece", "loss"):
        assert printed[f"val/{name}"] == pytest.approx(expected[name], **TOLERANCE), name


@pytest.mark.slow
def test_two_ddp_processes_report_the_oracle_values(tmp_path: Path) -> None:
    logits, labels = adversarial_logits(seed=2)
    data = save_logits(tmp_path / "logits.pt", logits, labels)
    ddp = ["--config", str(CONFIGS / "trainer" / "ddp.yaml"), "--trainer.accelerator", "cpu", "--trainer.devices", "2"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-m", "litlab", "test", *litlab_args(tmp_path / "logs", data, bf16=False), *ddp],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = (tmp_path / "logs" / "synthetic_mlp").iterdir()
    assert_matches_oracle(run, result.stdout, logits, labels)


def test_regression_metrics_equal_the_oracle(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Three outputs on different scales (R² is their plain average), a last batch of one sample, bf16 output."""
    generator = torch.Generator().manual_seed(3)
    targets = torch.randn(SIZE, 3, generator=generator) * torch.tensor([1.0, 10.0, 0.1]) + torch.tensor([0, 5.0, 0])
    predictions = targets + 0.5 * torch.randn(SIZE, 3, generator=generator) * torch.tensor([1.0, 10.0, 0.1])
    data = save_logits(tmp_path / "pairs.pt", predictions, targets)
    main([
        "test", "--config", str(CONFIGS / "synthetic_regression.yaml"),
        "--trainer.logger.init_args.save_dir", str(tmp_path / "logs"), "--trainer.enable_progress_bar", "false",
        "--model.init_args.backbone", "oracle_modules.PassThrough",
        "--model.init_args.backbone.init_args.bf16", "true",
        "--data", "oracle_modules.PredictionsData", "--data.init_args.path", str(data),
    ])  # fmt: skip
    out = capsys.readouterr().out
    printed = {m[1]: float(m[2]) for m in re.finditer(r"^\s*(test/\w+)\s+([-0-9.e]+)\s*$", out, re.M)}
    expected = oracle_regression(predictions.bfloat16().double().numpy(), targets.numpy())
    assert set(printed) == {f"test/{name}" for name in expected}
    for name, value in expected.items():
        assert printed[f"test/{name}"] == pytest.approx(value, **TOLERANCE), name


def test_auroc_leaves_out_classes_without_positives_or_negatives_and_says_nothing() -> None:
    """An unshuffled evaluation set sorted by class (an image folder) starts with batches of one class."""
    from litlab.tasks.metrics import PresentClassesAUROC

    generator = torch.Generator().manual_seed(0)
    scores = torch.rand(12, 4, generator=generator).softmax(dim=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torchmetrics warns about both cases; they are handled, not news
        one_class = PresentClassesAUROC(4)
        one_class.update(scores, torch.zeros(12, dtype=torch.long))
        assert one_class.compute().isnan()  # no class has both positives and negatives: undefined
        two_classes = PresentClassesAUROC(4)
        targets = torch.tensor([0, 1] * 6)
        two_classes.update(scores, targets)
        value = two_classes.compute().item()

    def counted(c: int) -> float:  # P(a positive outscores a negative), ties half
        positive, negative = scores[targets == c, c].numpy(), scores[targets != c, c].numpy()
        pairs = positive[:, None] - negative[None, :]
        return float((pairs > 0).mean() + 0.5 * (pairs == 0).mean())

    assert value == pytest.approx((counted(0) + counted(1)) / 2, abs=1e-6)
