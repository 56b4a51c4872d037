"""Shared test helpers: paths to the repo's configs and a fast synthetic run that writes into tmp_path."""

import contextlib
import csv
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pytest
import torch
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from cifar_fake import PER_BATCH, TEST_SIZE, fake_cifar10  # noqa: F401 - fake_cifar10: a fixture for every module
from litlab.command.cli import main

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"

if os.environ.get("PYTEST_XDIST_WORKER"):  # `make test` runs a worker per core: one thread each, none oversubscribed
    torch.set_num_threads(1)


def fast_synthetic_args(log_dir: Path, epochs: int = 2) -> list[str]:
    """The demo config, shrunk to a few hundred samples, logging under `log_dir`, with no progress bar."""
    return [
        "--config", str(CONFIGS / "synthetic_mlp.yaml"),
        "--trainer.logger.init_args.save_dir", str(log_dir),
        "--trainer.max_epochs", str(epochs),
        "--trainer.enable_progress_bar", "false",
        "--trainer.enable_model_summary", "false",
        "--trainer.log_every_n_steps", "1",
        "--data.init_args.sizes", "[512, 256, 256]",
        "--model.init_args.scheduler.init_args.T_max", str(epochs),
    ]  # fmt: skip


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test from an empty folder so nothing lands in the repo."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_image_folder(
    root: Path, counts: dict[str, int], classes: tuple[str, ...] = ("cat", "dog", "frog"), size: int = 8,
    suffix: str = ".png",
) -> Path:  # fmt: skip
    """An ImageFolder tree: `counts[split]` random RGB images per class in root/<split>/<class>/NNNN<suffix>.

    Pixel (0, 0) holds 40 * class index + 10 in every channel, so a decoded image says its class (JPEG: roughly).
    """
    from PIL import Image  # only the tests that write images pay for the import

    for split, per_class in counts.items():
        for label, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True)
            for number in range(per_class):
                generator = torch.Generator().manual_seed(sum(map(ord, split)) * 10**6 + label * 10**4 + number)
                pixels = torch.randint(0, 256, (size, size, 3), dtype=torch.uint8, generator=generator)
                pixels[0, 0] = 40 * label + 10
                Image.fromarray(pixels.numpy()).save(folder / f"{number:04d}{suffix}")
    return root


# Independent computations of what litlab reports (numpy, float64), for the oracle tests.
def oracle_classification(logits: np.ndarray, labels: np.ndarray, num_bins: int = 15) -> dict[str, float]:
    """Counting in numpy: accuracy, top-5, macro precision/recall/F1, macro one-vs-rest AUROC, ECE, loss.

    Conventions (torchmetrics'): a class neither in the labels nor predicted is left out of the macro
    averages, a ratio with a zero denominator counts 0, and a class absent from the labels has no AUROC.
    """
    logits = logits.astype(np.float64)
    n, c = logits.shape
    predicted = logits.argmax(axis=1)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    probs = np.exp(log_probs)
    tp = np.array([np.sum((predicted == k) & (labels == k)) for k in range(c)], dtype=np.float64)
    fp = np.array([np.sum((predicted == k) & (labels != k)) for k in range(c)], dtype=np.float64)
    fn = np.array([np.sum((predicted != k) & (labels == k)) for k in range(c)], dtype=np.float64)
    seen = (tp + fp + fn) > 0

    def ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1), 0.0)

    out = {
        "acc": float(np.mean(predicted == labels)),
        "precision": float(ratio(tp, tp + fp)[seen].mean()),
        "recall": float(ratio(tp, tp + fn)[seen].mean()),
        "f1": float(ratio(2 * tp, 2 * tp + fp + fn)[seen].mean()),
        "loss": float(-log_probs[np.arange(n), labels].mean()),
    }
    if c > 5:
        top5 = np.argsort(-logits, axis=1)[:, :5]
        out["acc_top5"] = float(np.mean([labels[i] in top5[i] for i in range(n)]))
    out["auroc_per_class"] = {k: mann_whitney_auc(probs[:, k], labels == k) for k in range(c) if (labels == k).any()}
    out["auroc"] = float(np.mean(list(out["auroc_per_class"].values())))
    confidence = probs.max(axis=1).astype(np.float32)
    edges = np.linspace(0, 1, num_bins + 1, dtype=np.float32)
    bins = np.searchsorted(edges, confidence, side="right") - 1
    correct = (predicted == labels).astype(np.float64)
    out["ece"] = float(sum(abs(correct[bins == b].sum() - confidence[bins == b].sum()) for b in set(bins)) / n)
    out["confusion"] = np.array([[np.sum((labels == t) & (predicted == p)) for p in range(c)] for t in range(c)])
    return out


def mann_whitney_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """P(score of a positive > score of a negative), ties counted one half: the area under the ROC curve."""
    pos, neg = scores[positive], scores[~positive]
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def oracle_regression(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """MSE and MAE over every element, R² per output averaged uniformly, in float64."""
    pred, target = pred.astype(np.float64).reshape(len(pred), -1), target.astype(np.float64).reshape(len(pred), -1)
    residual = ((pred - target) ** 2).sum(axis=0)
    total = ((target - target.mean(axis=0)) ** 2).sum(axis=0)
    return {
        "mse": float(((pred - target) ** 2).mean()),
        "mae": float(np.abs(pred - target).mean()),
        "r2": float(np.mean(1 - residual / total)),
        "loss": float(((pred - target) ** 2).mean()),
    }


def fit_and_test(logs: Path, epochs: int = 2) -> tuple[Path, Path]:
    """`litlab fit` on small synthetic images (which tests its best checkpoint), then `litlab test` of its last
    checkpoint, as a user runs them; both tests log into the fit run."""
    main(["fit", *fast_synthetic_args(logs, epochs), "--data.init_args.input_shape", "[3, 8, 8]"])
    fit_dir = max((logs / "synthetic_mlp").glob("version_*"), key=lambda p: int(p.name.split("_")[1]))
    main(["test", "--config", str(fit_dir / "config.yaml"), "--ckpt_path", str(fit_dir / "checkpoints" / "last.ckpt")])
    assert [p.name for p in fit_dir.parent.iterdir()] == [fit_dir.name]  # the test logged into the fit run
    return fit_dir, fit_dir


def accumulator(run: Path) -> EventAccumulator:
    events = EventAccumulator(str(run), size_guidance={"scalars": 0, "images": 0, "tensors": 0, "histograms": 0})
    events.Reload()
    return events


def table(markdown: str) -> list[dict[str, str]]:
    """The rows of the first markdown table in `markdown`, as {header: cell} dicts."""
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    return [dict(zip(header, (c.strip() for c in line.strip("|").split("|")), strict=True)) for line in lines[2:]]


# The demo config shrunk like conftest.fast_synthetic_args, as sweep-file overrides (TensorBoard figures off).
TINY = {
    "trainer.max_epochs": 3,
    "model.init_args.scheduler.init_args.T_max": 3,
    "data.init_args.sizes": [512, 256, 256],
    "trainer.enable_progress_bar": False,
    "trainer.enable_model_summary": False,
    "test_after_fit": False,  # the trials' own test is litlab fit's, tested elsewhere
    # Only what the checks read: checkpoints, the HParams record, exact seeding; no figure-drawing dashboards.
    "trainer.callbacks": [
        {
            "class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
            "init_args": {"monitor": "val/acc", "mode": "max"},
        },
        {"class_path": "litlab.callbacks.HParamsSummary"},
        {"class_path": "litlab.callbacks.StepSeeds"},
    ],
}
LR = "model.init_args.optimizer.init_args.lr"


def sweep_file(folder: Path, name: str = "tiny", **settings: object) -> Path:
    """A search whose first trial (enqueued, lr 0.01) learns and whose sampled ones (lr <= 1e-6) cannot, so a
    median pruner with one startup trial prunes them after their first epoch."""
    content = {
        "config": str(CONFIGS / "synthetic_mlp.yaml"),
        "overrides": TINY,
        "n_trials": 4,
        "sampler": {"name": "tpe", "seed": 0},
        "pruner": {"name": "median", "n_startup_trials": 1, "n_warmup_steps": 0},
        "enqueue": [{LR: 0.01}],
        "params": {LR: {"type": "float", "low": 1e-7, "high": 1e-6, "log": True}},
        **settings,
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(content))
    return path


# Bad-input tests: an earlier run no failed command may touch, and the short-message contract.
EXPERIMENT = "synthetic_mlp"


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


@pytest.fixture(scope="module")
def earlier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 1-epoch run (10 classes) in logs/, which no failed command may change."""
    logs = tmp_path_factory.mktemp("logs")
    main(["fit", *fast_synthetic_args(logs, epochs=1)])
    return logs / EXPERIMENT / "version_0"


@pytest.fixture
def logs(earlier: Path) -> Path:
    """The earlier run's logs/ folder; after the test, that run is byte for byte what it was."""
    before = snapshot(earlier)
    yield earlier.parents[1]
    assert snapshot(earlier) == before, "a failed command changed an earlier run"


def fails(args: list[str], capsys: pytest.CaptureFixture, *named: str, lines: int = 3) -> str:
    """Run `litlab <args>`; it must exit with status 2 and a message of at most `lines` lines naming `named`."""
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    message = err[err.index("litlab: error:") :]
    assert "Traceback" not in err and "usage:" not in err
    assert len(message.strip().splitlines()) <= lines, message
    for text in named:
        assert text in message, f"{text!r} not in {message!r}"
    return message


def binary_counts(predicted: np.ndarray, positive: np.ndarray) -> dict[str, float]:
    """Precision, recall, F1 of one yes/no decision, a ratio with a zero denominator counting 0 (torchmetrics)."""
    tp, fp, fn = (np.sum(predicted & positive), np.sum(predicted & ~positive), np.sum(~predicted & positive))
    return {
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
        "seen": bool(tp + fp + fn),
    }


def bce_with_logits(logits: np.ndarray, targets: np.ndarray) -> float:
    """Mean binary cross-entropy of sigmoid(logits), computed stably in float64."""
    logits, targets = logits.astype(np.float64), targets.astype(np.float64)
    return float(np.mean(np.maximum(logits, 0) - logits * targets + np.log1p(np.exp(-np.abs(logits)))))


def oracle_binary(logits: np.ndarray, targets: np.ndarray, num_bins: int = 15) -> dict[str, float]:
    """Binary: accuracy, precision/recall/F1 of the positive class at p > 0.5, AUROC, top-label ECE, loss."""
    probability = (1 / (1 + np.exp(-logits.astype(np.float64)))).astype(np.float32)
    predicted, positive = probability > 0.5, targets.astype(bool)
    out = {"acc": float(np.mean(predicted == positive)), "loss": bce_with_logits(logits, targets)}
    out |= {k: float(v) for k, v in binary_counts(predicted, positive).items() if k != "seen"}
    out["auroc"] = mann_whitney_auc(probability, positive)
    confidence = np.maximum(probability, 1 - probability)
    edges = np.linspace(0, 1, num_bins + 1, dtype=np.float32)
    bins = np.searchsorted(edges, confidence, side="right") - 1
    correct = (predicted == positive).astype(np.float64)
    out["ece"] = float(sum(abs(correct[bins == b].sum() - confidence[bins == b].sum()) for b in set(bins)) / len(bins))
    return out


def oracle_multilabel(logits: np.ndarray, targets: np.ndarray) -> dict[str, object]:
    """Multi-label: accuracy over every decision, exact match, macro precision/recall/F1 over every label (a label
    never positive and never predicted scores 0: torchmetrics' multi-label convention, unlike its multi-class
    one), macro AUROC over labels with both outcomes, loss; and per label the best F1 over thresholds among the
    scores when predicting p >= threshold."""
    probability = (1 / (1 + np.exp(-logits.astype(np.float64)))).astype(np.float32)
    predicted, positive = probability > 0.5, targets.astype(bool)
    per_label = [binary_counts(predicted[:, j], positive[:, j]) for j in range(targets.shape[1])]
    out: dict[str, object] = {
        "acc": float(np.mean(predicted == positive)),
        "exact_match": float(np.mean((predicted == positive).all(axis=1))),
        "loss": bce_with_logits(logits, targets),
        **{k: float(np.mean([c[k] for c in per_label])) for k in ("precision", "recall", "f1")},
    }
    out["auroc_per_label"] = {
        j: mann_whitney_auc(probability[:, j], positive[:, j])
        for j in range(targets.shape[1])
        if 0 < positive[:, j].sum() < len(positive)
    }
    out["auroc"] = float(np.mean(list(out["auroc_per_label"].values())))
    out["per_label"] = per_label
    out["best_f1"] = [
        max(binary_counts(probability[:, j] >= t, positive[:, j])["f1"] for t in np.unique(probability[:, j]))
        for j in range(targets.shape[1])
    ]
    return out


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """A CSV file (predictions.csv, a table) as {column: cell} dicts."""
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


# A local server (tensorboard) a test starts and talks to over HTTP.
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(url: str, method: str = "GET", body: Any = None, timeout: float = 60) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def wait_until(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(0.5)


class KillAfterCheckpoint(L.Callback):
    """Test helper for `--trainer.callbacks+=conftest.KillAfterCheckpoint`: SIGKILLs its own process when the
    step after `step` starts, i.e. once that step's checkpoint is on disk, like a preempted node."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: object, i: int) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


@contextlib.contextmanager
def tensorboard_serving(logdir: Path) -> Iterator[str]:
    """A real `tensorboard --logdir logdir` on a free local port for the `with` block; yields its URL. Its output
    goes to `<logdir>/../tensorboard.log`."""
    executable = Path(sys.executable).with_name("tensorboard")
    command = [str(executable)] if executable.exists() else [sys.executable, "-m", "tensorboard.main"]
    port = free_port()
    command += ["--logdir", str(logdir), "--host", "127.0.0.1", "--port", str(port)]
    with (logdir.parent / "tensorboard.log").open("w") as log:
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.terminate()
            server.wait(timeout=30)
