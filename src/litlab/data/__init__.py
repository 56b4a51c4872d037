"""LightningDataModules. Each exposes `input_shape` and `num_classes` or `num_outputs` for the task."""

from litlab.data.base import LitlabDataModule
from litlab.data.cifar10 import CIFAR10DataModule
from litlab.data.synthetic import SyntheticClassificationData, SyntheticRegressionData

__all__ = ["CIFAR10DataModule", "LitlabDataModule", "SyntheticClassificationData", "SyntheticRegressionData"]
