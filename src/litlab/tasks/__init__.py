"""LightningModules: a backbone plus its loss, metrics, optimizer and LR scheduler."""

from litlab.tasks.classification import ClassificationTask
from litlab.tasks.regression import RegressionTask

__all__ = ["ClassificationTask", "RegressionTask"]
