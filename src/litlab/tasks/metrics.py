"""torchmetrics collections for each kind of task; each stage clones its own, prefixed `train/`, `val/`, `test/`.

Compute groups are spelled out, never discovered. By default a `MetricCollection` merges metrics whose states
happen to be equal after the first `update` and from then on updates only one of them: when the first batch
is classified perfectly, top-5 accuracy and macro precision/recall/F1 have equal states and get merged, and
the macro scores are then computed from top-5 counts (they went above 1.0; torchmetrics issues #746, #2596,
#2916). Here only metrics built by the same class of update with the same arguments share state, which makes
their states identical by construction, not by coincidence; `tests/test_metric_oracle.py` checks every value
against counting in numpy.
"""

import warnings

import torch
from torchmetrics import MeanAbsoluteError, MeanSquaredError, Metric, MetricCollection, R2Score
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassAUROC,
    MulticlassCalibrationError,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
)
from torchmetrics.utilities import dim_zero_cat


class PresentClassesAUROC(MulticlassAUROC):
    """Macro one-vs-rest AUROC over the classes that occur in the targets.

    torchmetrics' macro average scores a class absent from the targets as 0 (it warns that its true positive
    rate is meaningless) and keeps it in the mean, so a test split without some class looks worse than chance.
    Here such a class, and one with no negatives, is left out of the mean, as its AUROC is undefined.
    """

    def __init__(self, num_classes: int) -> None:
        super().__init__(num_classes, average="none", thresholds=None)

    def compute(self) -> torch.Tensor:
        with warnings.catch_warnings():  # "No positive/negative samples in targets": such a class is left out below
            warnings.filterwarnings("ignore", message="No (positive|negative) samples in targets")
            per_class = super().compute()  # states are already synced across processes here
        counts = torch.bincount(dim_zero_cat(self.target), minlength=self.num_classes)
        defined = (counts > 0) & (counts < counts.sum()) & ~per_class.isnan()
        return per_class[defined].mean()


# Bins of the expected calibration error and of the reliability diagram (litlab.callbacks.Calibration).
CALIBRATION_BINS = 15


def classification_metrics(num_classes: int) -> MetricCollection:
    """Evaluation metrics: top-1 accuracy, macro precision/recall/F1 (one shared group of per-class counts),
    macro one-vs-rest AUROC, expected calibration error, and top-5 accuracy when there are more than 5 classes.

    Macro averages follow torchmetrics: a class that is neither in the targets nor predicted is left out of
    the average; a class that is present but never predicted has precision 0. AUROC is exact (every score is
    kept until the epoch ends), and a class absent from the targets is left out of its average (see
    `PresentClassesAUROC`).
    """
    metrics: dict[str, Metric] = {
        "acc": MulticlassAccuracy(num_classes, average="micro"),
        "precision": MulticlassPrecision(num_classes, average="macro"),
        "recall": MulticlassRecall(num_classes, average="macro"),
        "f1": MulticlassF1Score(num_classes, average="macro"),
        "auroc": PresentClassesAUROC(num_classes),
        "ece": MulticlassCalibrationError(num_classes, n_bins=CALIBRATION_BINS, norm="l1"),
    }
    groups = [["acc"], ["precision", "recall", "f1"], ["auroc"], ["ece"]]
    if num_classes > 5:  # with 5 classes or fewer, top-5 accuracy is 1 by definition
        metrics["acc_top5"] = MulticlassAccuracy(num_classes, top_k=5, average="micro")
        groups.append(["acc_top5"])
    return MetricCollection(metrics, compute_groups=groups)


def regression_metrics() -> MetricCollection:
    """Mean squared error, mean absolute error and R² (averaged over outputs); no shared state."""
    return MetricCollection(
        {"mse": MeanSquaredError(), "mae": MeanAbsoluteError(), "r2": R2Score()}, compute_groups=False
    )
