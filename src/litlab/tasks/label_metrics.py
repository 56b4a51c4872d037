"""torchmetrics collections for binary and multi-label tasks, fed sigmoid probabilities and 0/1 targets.

Compute groups are spelled out, as in `litlab.tasks.metrics` (which says why): only metrics built by the same
update with the same arguments share state. `tests/test_label_metrics_oracle.py` checks every value against
counting in numpy.
"""

import torch
from torchmetrics import Metric, MetricCollection
from torchmetrics.classification import (
    BinaryAccuracy,
    BinaryAUROC,
    BinaryF1Score,
    BinaryPrecision,
    BinaryRecall,
    MulticlassCalibrationError,
    MultilabelAccuracy,
    MultilabelAUROC,
    MultilabelExactMatch,
    MultilabelF1Score,
    MultilabelPrecision,
    MultilabelRecall,
)
from torchmetrics.utilities import dim_zero_cat

from litlab.tasks.metrics import CALIBRATION_BINS


class TopLabelCalibrationError(MulticlassCalibrationError):
    """Binary expected calibration error of the predicted label's probability (max(p, 1 - p)), the confidence
    that `litlab.callbacks.ReliabilityDiagram` bins, so `test/ece` is the diagram's. Takes P(positive)."""

    def __init__(self) -> None:
        super().__init__(num_classes=2, n_bins=CALIBRATION_BINS, norm="l1")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        super().update(torch.stack([1 - preds, preds], dim=-1), target)


class PresentLabelsAUROC(MultilabelAUROC):
    """Macro AUROC over the labels that have both positives and negatives in the targets (others have none).

    torchmetrics scores such a label 0 and keeps it in the mean, as `litlab.tasks.metrics.PresentClassesAUROC`
    explains for classes.
    """

    def __init__(self, num_labels: int) -> None:
        super().__init__(num_labels, average="none", thresholds=None)

    def compute(self) -> torch.Tensor:
        per_label = super().compute()
        positives = dim_zero_cat(self.target).sum(dim=0)
        total = len(dim_zero_cat(self.target))
        defined = (positives > 0) & (positives < total) & ~per_label.isnan()
        return per_label[defined].mean()


def binary_metrics() -> MetricCollection:
    """Accuracy, precision/recall/F1 of the positive class at threshold 0.5, exact AUROC, top-label ECE."""
    metrics: dict[str, Metric] = {
        "acc": BinaryAccuracy(),
        "precision": BinaryPrecision(),
        "recall": BinaryRecall(),
        "f1": BinaryF1Score(),
        "auroc": BinaryAUROC(thresholds=None),
        "ece": TopLabelCalibrationError(),
    }
    return MetricCollection(metrics, compute_groups=[["acc"], ["precision", "recall", "f1"], ["auroc"], ["ece"]])


def multilabel_metrics(num_labels: int) -> MetricCollection:
    """Per-decision accuracy (every label of every sample), exact match (all labels of a sample right), macro
    precision/recall/F1 over labels at threshold 0.5, and macro AUROC over labels with both outcomes.

    Unlike torchmetrics' multi-class macro scores, its multi-label ones keep a label that is never positive
    and never predicted, scored 0; litlab keeps that convention (`conftest.oracle_multilabel` spells it out).
    """
    metrics: dict[str, Metric] = {
        "acc": MultilabelAccuracy(num_labels, average="micro"),
        "exact_match": MultilabelExactMatch(num_labels),
        "precision": MultilabelPrecision(num_labels, average="macro"),
        "recall": MultilabelRecall(num_labels, average="macro"),
        "f1": MultilabelF1Score(num_labels, average="macro"),
        "auroc": PresentLabelsAUROC(num_labels),
    }
    groups = [["acc"], ["exact_match"], ["precision", "recall", "f1"], ["auroc"]]
    return MetricCollection(metrics, compute_groups=groups)
