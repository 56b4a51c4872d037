"""Data and a pass-through backbone that let a test choose the exact logits litlab scores.

`LogitsData` serves (logits, label) pairs from a `.pt` file as a 1-process or DDP run would; `PassThrough`
returns its input as the logits (optionally rounded to bf16, as a bf16 model would emit them). Importable by a
`litlab` subprocess with `tests/` on PYTHONPATH.
"""

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import TensorDataset

from litlab.data.base import LitlabDataModule


class PassThrough(nn.Module):
    """Logits = input. A dummy weight gives the optimizer and checkpoints something to hold."""

    def __init__(self, input_shape: Sequence[int], num_outputs: int, bf16: bool = False) -> None:
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))
        self.dtype = torch.bfloat16 if bf16 else torch.float32

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.dtype)


class LogitsData(LitlabDataModule):
    """Every split is the same (logits, labels) pairs saved by `save_logits`."""

    def __init__(self, path: str, batch_size: int = 16) -> None:
        super().__init__(batch_size=batch_size)
        pairs = torch.load(path, weights_only=True)
        self.logits, self.labels = pairs["logits"], pairs["labels"]
        self.num_classes = self.logits.shape[1]
        self.input_shape = (self.num_classes,)
        self.class_names = [f"c{i}" for i in range(self.num_classes)]

    def setup(self, stage: str | None = None) -> None:
        split = TensorDataset(self.logits, self.labels)
        self.train_set = self.val_set = self.test_set = split


def save_logits(path: Path, logits: torch.Tensor, labels: torch.Tensor) -> Path:
    torch.save({"logits": logits, "labels": labels}, path)
    return path


class PredictionsData(LitlabDataModule):
    """Regression: every split is the same (prediction, target) float pairs saved by `save_logits`."""

    def __init__(self, path: str, batch_size: int = 16) -> None:
        super().__init__(batch_size=batch_size)
        pairs = torch.load(path, weights_only=True)
        self.predictions, self.targets = pairs["logits"], pairs["labels"]
        self.num_outputs = self.targets.shape[1]
        self.input_shape = (self.num_outputs,)

    def setup(self, stage: str | None = None) -> None:
        self.train_set = self.val_set = self.test_set = TensorDataset(self.predictions, self.targets)


class TrainablePassThrough(PassThrough):
    """Logits = input, through the dummy weight times 0: `fit` can backpropagate, and the logits never change."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) + 0 * self.unused


class LabelLogitsData(LitlabDataModule):
    """Binary or multi-label: every split is the same (logits, 0/1 targets) saved by `save_logits`; targets of
    shape (N,) are binary (one logit each), (N, L) multi-label (`num_labels` = L)."""

    def __init__(self, path: str, batch_size: int = 16) -> None:
        super().__init__(batch_size=batch_size)
        pairs = torch.load(path, weights_only=True)
        self.logits, self.targets = pairs["logits"], pairs["labels"]
        self.input_shape = (self.logits.shape[1],)
        if self.targets.ndim == 2:
            self.num_labels = self.targets.shape[1]
        else:
            self.class_names = ["negative", "positive"]

    def setup(self, stage: str | None = None) -> None:
        self.train_set = self.val_set = self.test_set = TensorDataset(self.logits, self.targets)
