"""What litlab's image data modules share: the `loader` switch between two ways of feeding images.

- "memory": the whole split as one uint8 tensor on the training device, batches augmented there
  (`DeviceLoader`). Fast for data that fits in device memory: CIFAR-sized sets fit many times over.
- "torchvision": the textbook path, torchvision datasets + transforms in DataLoader workers.

Both give the training step the same (normalized float images, int64 labels) batches. On the memory path the
`train_set`, `val_set` and `test_set` attributes are `ImageTensors`, so code that reads samples from them
(exporters, reports) works on both paths; only the loaders augment.
"""

from collections.abc import Sequence

import torch
from torch.utils.data import DataLoader, Dataset

from litlab.data.base import LitlabDataModule
from litlab.data.batch_augment import BatchAugment
from litlab.data.device_loader import DeviceLoader
from litlab.data.preprocessing import Preprocessing


class ImageTensors(Dataset):
    """A split held as (N, C, H, W) uint8 images and (N,) labels; an item is (normalized float image, label)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, mean: Sequence[float], std: Sequence[float]):
        self.images, self.labels = images, labels.long()
        self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return (self.images[index] / 255 - self.mean) / self.std, int(self.labels[index])


class ImageDataModule(LitlabDataModule):
    """Subclasses set `mean` and `std` ([0, 1] scale) and say what each split holds on each path:
    `memory_splits` as uint8 image and label tensors, `torchvision_splits` as torchvision datasets. `setup`
    picks the path (`loader`) and fills `train_set`, `val_set` and `test_set` for the stage.

    The memory path builds its loaders for the attached Trainer: on its root device, sharded by its global
    rank and world size.
    """

    mean: Sequence[float]
    std: Sequence[float]

    def __init__(
        self,
        *,
        loader: str,
        augment: bool,
        augmentation: BatchAugment | None,
        channels_last: bool,
        seed: int,
        batch_size: int,
        num_workers: int,
        pin_memory: bool,
        persistent_workers: bool,
    ) -> None:
        super().__init__(
            batch_size=batch_size, num_workers=num_workers, pin_memory=pin_memory, persistent_workers=persistent_workers
        )
        self.loader = loader
        self.augment = augment
        self.augmentation = augmentation if augmentation is not None else BatchAugment()
        self.channels_last = channels_last
        self.seed = seed

    def preprocessing(self) -> Preprocessing:
        names = getattr(self, "class_names", None)
        mean, std = self.mean, self.std
        return Preprocessing(
            "image",
            tuple(self.input_shape),
            None if names is None else list(names),
            None if mean is None else tuple(mean),
            None if std is None else tuple(std),
            resize=bool(getattr(self, "resize", False)),
        )

    def memory_splits(self, fit: bool, test: bool) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """(N, C, H, W) uint8 images and (N,) labels of "train" and "val" (when `fit`) and "test" (when `test`)."""
        raise NotImplementedError

    def torchvision_splits(self, fit: bool, test: bool) -> dict[str, Dataset]:
        """The same splits as datasets that decode and transform each image (train with augmentation)."""
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        fit, test = stage in ("fit", "validate", None), stage in ("test", "predict", None)
        if self.loader == "memory":
            splits = {name: self.memory_split(*tensors) for name, tensors in self.memory_splits(fit, test).items()}
        else:
            splits = self.torchvision_splits(fit, test)
        for name, split in splits.items():
            setattr(self, f"{name}_set", split)

    def memory_split(self, images: torch.Tensor, labels: torch.Tensor) -> ImageTensors:
        return ImageTensors(images, labels, self.mean, self.std)

    def device_loader(self, split: ImageTensors, train: bool) -> DeviceLoader:
        trainer = self.trainer
        placement = (
            {"device": trainer.strategy.root_device, "rank": trainer.global_rank, "world_size": trainer.world_size}
            if trainer is not None
            else {}
        )
        return DeviceLoader(
            split.images,
            split.labels,
            self.batch_size,
            self.mean,
            self.std,
            train=train,
            augment=self.augmentation if self.augment else None,
            seed=self.seed,
            channels_last=self.channels_last,
            **placement,
        )

    def train_dataloader(self) -> DataLoader | DeviceLoader:
        return self.device_loader(self.train_set, True) if self.loader == "memory" else super().train_dataloader()

    def val_dataloader(self) -> DataLoader | DeviceLoader:
        return self.device_loader(self.val_set, False) if self.loader == "memory" else super().val_dataloader()

    def test_dataloader(self) -> DataLoader | DeviceLoader:
        return self.device_loader(self.test_set, False) if self.loader == "memory" else super().test_dataloader()

    def predict_dataloader(self) -> DataLoader:
        """A plain DataLoader on both paths: Lightning then shards it without repeats and reports each
        prediction's dataset index (the prediction writer's input order)."""
        return self._loader(self.test_set, shuffle=False)
