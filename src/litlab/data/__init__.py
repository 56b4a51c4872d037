"""LightningDataModules. Each exposes `input_shape` and `num_classes` or `num_outputs` for the task."""

from litlab.data.base import LitlabDataModule
from litlab.data.batch_augment import BatchAugment
from litlab.data.cifar10 import CIFAR10DataModule
from litlab.data.device_loader import DeviceLoader
from litlab.data.image_base import ImageDataModule, ImageTensors
from litlab.data.image_folder import ImageFolderDataModule
from litlab.data.image_labels_csv import ImageLabelsCSVData
from litlab.data.synthetic import SyntheticClassificationData, SyntheticRegressionData
from litlab.data.synthetic_labels import SyntheticBinaryData, SyntheticMultilabelData
from litlab.data.table import TableDataModule

__all__ = [
    "BatchAugment",
    "CIFAR10DataModule",
    "DeviceLoader",
    "ImageDataModule",
    "ImageFolderDataModule",
    "ImageLabelsCSVData",
    "ImageTensors",
    "LitlabDataModule",
    "SyntheticBinaryData",
    "SyntheticClassificationData",
    "SyntheticMultilabelData",
    "TableDataModule",
    "SyntheticRegressionData",
]
