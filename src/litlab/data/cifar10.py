"""CIFAR-10 through `torchvision.datasets.CIFAR10`: download once, seeded 45k/5k train/val split, official test set.

Offline and without the files, `prepare_data` stops with a message that says where it looked, which
files it wanted and how to go on, instead of a urllib traceback.
"""

from pathlib import Path
from urllib.error import URLError

import torch
from torch.utils.data import Subset
from torchvision import datasets
from torchvision.transforms import v2

from litlab.data.base import LitlabDataModule
from litlab.errors import DatasetNotFoundError

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
ARCHIVE = "cifar-10-python.tar.gz"
BATCH_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]


def missing_dataset_message(root: Path, reason: str) -> str:
    folder = root.resolve() / datasets.CIFAR10.base_folder
    return (
        f"CIFAR-10 is not in {folder} and could not be downloaded ({reason}).\n"
        f"Expected the files {', '.join(BATCH_FILES)} there.\n"
        "Two ways forward:\n"
        f"  1. Put the official archive {ARCHIVE} (from https://www.cs.toronto.edu/~kriz/cifar.html) into "
        f"{root.resolve()}/ and run the same command again; it is checked and unpacked, not downloaded.\n"
        "  2. Train offline on synthetic data instead: make demo"
    )


class CIFAR10DataModule(LitlabDataModule):
    """CIFAR-10 with the standard normalization and random-crop + horizontal-flip augmentation on train only.

    Args:
        data_dir: folder holding (or receiving) `cifar-10-batches-py/`.
        val_size: images held out of the 50k training set for validation.
        seed: fixes the train/val split.
        augment: random crop with 4-pixel padding and horizontal flip on the training split.
        download: fetch the dataset in `prepare_data` if it is missing.
    """

    num_classes = 10
    input_shape = (3, 32, 32)
    class_names = CIFAR10_CLASSES
    mean, std = CIFAR10_MEAN, CIFAR10_STD

    def __init__(
        self,
        data_dir: str | Path = "data",
        val_size: int = 5000,
        seed: int = 42,
        augment: bool = True,
        download: bool = True,
        batch_size: int = 256,
        num_workers: int = 2,
        pin_memory: bool = True,
        persistent_workers: bool = True,
    ) -> None:
        super().__init__(batch_size, num_workers, pin_memory, persistent_workers)
        self.save_hyperparameters()
        self.data_dir = Path(data_dir)
        self.val_size = val_size
        self.seed = seed
        self.augment = augment
        self.download = download

    def _is_present(self) -> bool:
        try:
            datasets.CIFAR10(self.data_dir, train=False)
        except RuntimeError:  # torchvision's "Dataset not found or corrupted"
            return False
        return True

    def prepare_data(self) -> None:
        if self._is_present():
            return
        if not self.download:
            raise DatasetNotFoundError(missing_dataset_message(self.data_dir, "download is off"))
        try:
            for train in (True, False):
                datasets.CIFAR10(self.data_dir, train=train, download=True)
        except (URLError, OSError, RuntimeError) as error:
            raise DatasetNotFoundError(missing_dataset_message(self.data_dir, str(error))) from error

    def transforms(self, train: bool) -> v2.Compose:
        augment = [v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip()] if train and self.augment else []
        return v2.Compose(
            [v2.ToImage(), *augment, v2.ToDtype(torch.float32, scale=True), v2.Normalize(self.mean, self.std)]
        )

    def setup(self, stage: str | None = None) -> None:
        if stage in ("fit", "validate", None):
            train_full = datasets.CIFAR10(self.data_dir, train=True, transform=self.transforms(train=True))
            eval_full = datasets.CIFAR10(self.data_dir, train=True, transform=self.transforms(train=False))
            order = torch.randperm(len(train_full), generator=torch.Generator().manual_seed(self.seed)).tolist()
            self.train_set = Subset(train_full, order[self.val_size :])
            self.val_set = Subset(eval_full, order[: self.val_size])
        if stage in ("test", "predict", None):
            self.test_set = datasets.CIFAR10(self.data_dir, train=False, transform=self.transforms(train=False))
