"""The training objective as a config choice, and class weights given as a YAML list or computed from the data.

A task takes `loss` by class_path (any `torch.nn` loss or the user's own `nn.Module`), and the weights apart
from it: a list in YAML is not a Tensor, so `CrossEntropyLoss(weight=[...])` cannot be written in a config
(Lightning #20324, jsonargparse #196). The task builds the Tensor from `class_weight` (multi-class) or
`pos_weight` (binary, multi-label) and sets it on the loss, where it is saved with the checkpoint.
"""

from typing import Literal

import torch
from lightning import LightningDataModule
from lightning.pytorch.core.mixins.hparams_mixin import _given_hyperparameters
from torch import nn
from torch.utils.data import Dataset, Subset, TensorDataset

from litlab.command.errors import ConfigError

# A YAML list of floats, or "balanced": computed from the training split's label counts when fitting starts.
Weights = list[float] | Literal["balanced"] | None


class FocalLoss(nn.Module):
    """Multi-class focal loss (Lin et al., 2017): -w_y (1 - p_y)^gamma log p_y, for labels y and softmax p.

    It lowers the loss of well-classified samples, so training dwells on the hard ones. The mean is weighted
    like `CrossEntropyLoss`'s (divided by the summed weights of the batch's labels), so `gamma: 0` is exactly
    cross-entropy, weighted or not.

    Args:
        gamma: focusing exponent; 0 gives cross-entropy.
    """

    def __init__(self, gamma: float = 2.0) -> None:
        super().__init__()
        self.gamma = gamma
        self.register_buffer("weight", None)  # per-class weights, set by the task from `class_weight`

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        log_p = logits.float().log_softmax(dim=-1).gather(-1, target[:, None]).squeeze(-1)
        weight = torch.ones_like(log_p) if self.weight is None else self.weight[target]
        loss = -weight * (1 - log_p.exp()).pow(self.gamma) * log_p
        return loss.sum() / weight.sum()


def modules_to_leave_out_of_hparams() -> list[str]:
    """`save_hyperparameters(ignore=...)` for a task with a `loss`: LightningCLI gives the task its config
    (class_path, init_args), which is kept; a loss module built in Python is left out, as a module pickled into
    the hyperparameters could not be loaded weights-only."""
    return [] if _given_hyperparameters.get() is not None else ["loss"]


def objective_weight(loss: nn.Module, target: torch.Tensor) -> torch.Tensor | int:
    """How much a batch's mean objective counts in the epoch's: its summed class weights for a class-weighted loss
    (whose mean divides by them, as CrossEntropyLoss's and FocalLoss's do), else its sample count. The epoch's
    value is then the loss of the whole split at once, whatever the batch size."""
    weight = loss._buffers.get("weight")  # noqa: SLF001
    if isinstance(weight, torch.Tensor) and not target.is_floating_point():
        return weight[target].sum()
    return len(target)


def balanced_class_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """n / (classes · count_c) per class, as scikit-learn's "balanced"; a class absent from training gets 0."""
    counts = torch.bincount(labels.long().flatten(), minlength=num_classes).double()
    return torch.where(counts > 0, len(labels) / (num_classes * counts.clamp_min(1)), 0.0).float()


def balanced_pos_weight(targets: torch.Tensor) -> torch.Tensor:
    """negatives / positives per label (one value for binary targets), as `BCEWithLogitsLoss` documents."""
    targets = targets.double().reshape(len(targets), -1)
    positives = targets.sum(dim=0)
    return ((len(targets) - positives) / positives.clamp_min(1)).float()


def set_weight(loss: nn.Module, name: str, weight: torch.Tensor) -> None:
    """Put `weight` into the loss's `name` buffer (`weight` or `pos_weight`), or say why it cannot take one."""
    if name not in loss._buffers:  # noqa: SLF001 - torch's own losses keep their weights as buffers
        raise ConfigError(
            f"the loss {type(loss).__name__} has no `{name}`, so the task's class weights cannot be applied; "
            f"use a loss that takes `{name}` or drop the weights from the config."
        )
    loss.register_buffer(name, weight)


def check_loss_weights(loss: nn.Module, count: int, per: str, broadcast: bool = False) -> None:
    """A loss built with its own weights (`loss.init_args.weight: [...]` in YAML) has one per class (or label):
    refused here, before training, instead of inside the first step. `broadcast`: one value for all is fine too."""
    for name in ("weight", "pos_weight"):
        value = loss._buffers.get(name)  # noqa: SLF001
        if isinstance(value, torch.Tensor) and value.numel() != count and not (broadcast and value.numel() == 1):
            plural = "classes (num_classes)" if per == "class" else "labels (num_labels)"
            raise ConfigError(
                f"loss.init_args.{name} of {type(loss).__name__} has {value.numel()} values, but the data has {count} "
                f"{plural}; give {count}, one per {per}."
            )


def initial_weight(weights: Weights, size: int, what: str) -> torch.Tensor:
    """The tensor to start from: the YAML list (checked against `size`), or ones until "balanced" is computed."""
    if weights == "balanced":
        return torch.ones(size)
    tensor = torch.tensor(weights, dtype=torch.float32).flatten()
    if len(tensor) != size:
        raise ConfigError(f"{what} has {len(tensor)} values, but the data has {size}; give one per {what[:-1]}.")
    return tensor


def set_label_smoothing(loss: nn.Module, label_smoothing: float) -> None:
    """Pass the task's `label_smoothing` to a loss that has it (e.g. CrossEntropyLoss); refuse it otherwise."""
    if label_smoothing == 0:
        return
    if not hasattr(loss, "label_smoothing"):
        raise ConfigError(
            f"label_smoothing is set, but the loss {type(loss).__name__} has no label smoothing; "
            "remove label_smoothing or use torch.nn.CrossEntropyLoss."
        )
    loss.label_smoothing = label_smoothing


def train_targets(datamodule: LightningDataModule) -> torch.Tensor:
    """Every target of the training split: from the data module's `train_targets()` if it has one, else read
    from the dataset (a TensorDataset's last tensor, a `targets` or `labels` attribute, or sample by sample)."""
    if hasattr(datamodule, "train_targets"):
        return torch.as_tensor(datamodule.train_targets())
    return _dataset_targets(datamodule.train_set)


def _dataset_targets(dataset: Dataset) -> torch.Tensor:
    if isinstance(dataset, Subset):
        return _dataset_targets(dataset.dataset)[torch.as_tensor(dataset.indices)]
    if isinstance(dataset, TensorDataset):
        return dataset.tensors[-1]
    for name in ("targets", "labels"):  # torchvision datasets; litlab's in-memory ImageTensors
        if hasattr(dataset, name):
            return torch.as_tensor(getattr(dataset, name))
    return torch.stack([torch.as_tensor(dataset[i][1]) for i in range(len(dataset))])  # type: ignore[arg-type]
