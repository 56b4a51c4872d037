"""LightningModules: a backbone plus its loss, metrics, optimizer and LR scheduler."""

from litlab.tasks.binary import BinaryClassificationTask
from litlab.tasks.classification import ClassificationTask
from litlab.tasks.multilabel import MultilabelClassificationTask
from litlab.tasks.regression import RegressionTask

__all__ = ["BinaryClassificationTask", "ClassificationTask", "MultilabelClassificationTask", "RegressionTask"]
