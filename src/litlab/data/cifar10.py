"""CIFAR-10 through `torchvision.datasets.CIFAR10`: download once, seeded 45k/5k train/val split, official test set.

Two loaders (`loader`): "memory" (default) keeps the uint8 images on the training device and augments whole
batches there; "torchvision" is the textbook PIL-transforms-in-DataLoader-workers path. Both use the same split.
The memory path reads the arrays torchvision already unpickled (uint8, N x 32 x 32 x 3): there is nothing to
decode, so no disk cache either.

Offline and without the files, `prepare_data` stops with a message that says where it looked, which
files it wanted and how to go on, instead of a urllib traceback.
"""

from pathlib import Path
from typing import Literal
from urllib.error import URLError

import torch
from torch.utils.data import Dataset, Subset
from torchvision import datasets
from torchvision.transforms import v2

from litlab.command.errors import DatasetNotFoundError
from litlab.data.batch_augment import BatchAugment
from litlab.data.image_base import ImageDataModule

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
        "Three ways forward:\n"
        f"  1. Put the official archive {ARCHIVE} (from https://www.cs.toronto.edu/~kriz/cifar.html) into "
        f"{root.resolve()}/ and run the same command again; it is checked and unpacked, not downloaded.\n"
        "  2. Train offline on synthetic data instead: make demo\n"
        "  3. Use the CIFAR-10 JPEG copy: make data-jpg unpacks it into data/cifar10-jpg; then stack\n"
        "     --config configs/data/cifar10_jpg.yaml on this config (or train configs/cifar10_jpg_cnn.yaml)"
    )


class CIFAR10DataModule(ImageDataModule):
    """CIFAR-10 with the standard normalization and random-crop + horizontal-flip augmentation on train only.

    Args:
        data_dir: folder holding (or receiving) `cifar-10-batches-py/`.
        val_size: images held out of the 50k training set for validation.
        seed: fixes the train/val split, and on the memory path the per-epoch shuffles and augmentation.
        augment: augment the training split: random crop with 4-pixel padding and horizontal flip.
        download: fetch the dataset in `prepare_data` if it is missing.
        loader: "memory" (device-resident batches) or "torchvision" (PIL transforms + DataLoader workers).
        augmentation: the memory path's augmentation (e.g. reflect padding, alternating flip, cutout,
            progressive resizing). Default (null): 4-pixel crop and random flip, as the torchvision path, which
            ignores this argument. One given replaces the default: say `crop_padding: 4, flip: random` to keep it.
        channels_last: memory path: batches in channels-last memory format.
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
        loader: Literal["memory", "torchvision"] = "memory",
        augmentation: BatchAugment | None = None,
        channels_last: bool = False,
    ) -> None:
        if augmentation is None:  # CIFAR's recipe: 4-pixel shifts and flips
            augmentation = BatchAugment(crop_padding=4, flip="random")
        super().__init__(
            loader=loader, augment=augment, augmentation=augmentation, channels_last=channels_last, seed=seed,
            batch_size=batch_size, num_workers=num_workers, pin_memory=pin_memory,
            persistent_workers=persistent_workers,
        )  # fmt: skip
        self.save_hyperparameters()
        self.data_dir = Path(data_dir)
        self.val_size = val_size
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

    def _train_and_val_parts(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Indices of the seeded train/val split of the official training set."""
        order = torch.randperm(size, generator=torch.Generator().manual_seed(self.seed))
        return order[self.val_size :], order[: self.val_size]

    def memory_splits(self, fit: bool, test: bool) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        splits = {}
        if fit:
            images, labels = _as_tensors(datasets.CIFAR10(self.data_dir, train=True))
            train_part, val_part = self._train_and_val_parts(len(labels))
            splits["train"] = (images.index_select(0, train_part), labels[train_part])
            splits["val"] = (images.index_select(0, val_part), labels[val_part])
        if test:
            splits["test"] = _as_tensors(datasets.CIFAR10(self.data_dir, train=False))
        return splits

    def torchvision_splits(self, fit: bool, test: bool) -> dict[str, Dataset]:
        splits: dict[str, Dataset] = {}
        if fit:
            train_full = datasets.CIFAR10(self.data_dir, train=True, transform=self.transforms(True))
            eval_full = datasets.CIFAR10(self.data_dir, train=True, transform=self.transforms(train=False))
            train_part, val_part = self._train_and_val_parts(len(train_full))
            splits["train"] = Subset(train_full, train_part.tolist())
            splits["val"] = Subset(eval_full, val_part.tolist())
        if test:
            splits["test"] = datasets.CIFAR10(self.data_dir, train=False, transform=self.transforms(train=False))
        return splits


def _as_tensors(split: datasets.CIFAR10) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 3, 32, 32) uint8 images and (N,) int64 labels from torchvision's already unpickled arrays."""
    return torch.from_numpy(split.data).permute(0, 3, 1, 2).contiguous(), torch.tensor(split.targets)
