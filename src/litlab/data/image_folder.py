"""Any image classification folder: `root/train/<class>/<image>`, optionally `root/val/...` and `root/test/...`.

Class names are the sorted folder names under `train/`; `val/` and `test/` must have the same class folders
(empty ones are fine). Without `val/`, a seeded fraction of `train/` is held out for validation. The two
loaders (see `ImageDataModule`) see the same files in the same order and the same split:

- "memory": every split decoded once into a uint8 tensor, cached under `root/.litlab_cache/` (see
  `image_cache`), then fed from device memory.
- "torchvision": `torchvision.datasets.ImageFolder` with Pillow and transforms in DataLoader workers.
- "auto" (default): "memory" when all splits together take at most `MEMORY_BUDGET` bytes as uint8.

Files policy: files without an image extension (torchvision's list) are ignored, as ImageFolder does. An
image file that cannot be decoded stops the run with a `LitlabError` naming it: on the memory path while
decoding, before training starts; on the torchvision path when a worker first reads it.
"""

from functools import partial
from pathlib import Path
from typing import Literal

import torch
from torch.utils.data import Dataset, Subset
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2

from litlab.command.errors import LitlabError
from litlab.data import image_cache
from litlab.data.batch_augment import BatchAugment
from litlab.data.folder_layout import scan
from litlab.data.image_base import ImageDataModule
from litlab.data.image_channels import all_grayscale

MEMORY_BUDGET = 4 * 2**30
STATS_SAMPLE = 2000  # training images the mean/std are estimated from on the torchvision path


class ImageFolderDataModule(ImageDataModule):
    """Image classification from a folder tree; exposes `input_shape`, `num_classes`, `class_names`, `mean`, `std`.

    Args:
        root: the folder holding `train/` (and optionally `val/`, `test/`).
        image_size: (height, width) or one side for square images to resize every image to (aspect ratio not
            kept). Default: the images' own size, which must then be the same for all.
        grayscale: read images as one channel instead of RGB. Default (null): one channel when every image
            in the folder is stored as grayscale, else RGB.
        val_fraction: share of `train/` held out for validation when there is no `val/`.
        seed: fixes that split, and on the memory path the per-epoch shuffles and augmentation.
        mean, std: per-channel statistics on the [0, 1] scale. Default: measured on the training split (on a
            sample of `STATS_SAMPLE` images on the torchvision path) and cached.
        loader: "memory", "torchvision" or "auto".
        augment: augment the training split (crop with padding; flips only when `augmentation` asks).
        augmentation: the augmentation; cutout, alternating flip and epoch_sizes apply on the memory path only
            (the torchvision path flips at random and trains at full size).
        channels_last: memory path: batches in channels-last memory format.
    """

    def __init__(
        self,
        root: str | Path,
        image_size: int | tuple[int, int] | None = None,
        grayscale: bool | None = None,
        val_fraction: float = 0.1,
        seed: int = 42,
        mean: tuple[float, ...] | None = None,
        std: tuple[float, ...] | None = None,
        loader: Literal["auto", "memory", "torchvision"] = "auto",
        augment: bool = True,
        augmentation: BatchAugment | None = None,
        channels_last: bool = False,
        batch_size: int = 256,
        num_workers: int = 2,
        pin_memory: bool = True,
        persistent_workers: bool = True,
    ) -> None:
        super().__init__(
            loader=loader, augment=augment, augmentation=augmentation, channels_last=channels_last, seed=seed,
            batch_size=batch_size, num_workers=num_workers, pin_memory=pin_memory,
            persistent_workers=persistent_workers,
        )  # fmt: skip
        self.save_hyperparameters()
        self.root = Path(root)
        self.class_names, self.samples = scan(self.root)
        self.num_classes = len(self.class_names)
        self.resize = image_size is not None
        if grayscale is None:
            grayscale = all_grayscale(path for files in self.samples.values() for path, _ in files)
        if image_size is None:
            first = image_cache.open_image(self.samples["train"][0][0], grayscale)
            image_size = (first.height, first.width)
        self.image_size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        self.grayscale = grayscale
        self.input_shape = (1 if grayscale else 3, *self.image_size)
        self.val_fraction = val_fraction
        self.mean, self.std = mean, std
        if loader == "auto":
            total = sum(len(files) for files in self.samples.values()) * torch.Size(self.input_shape).numel()
            self.loader = "memory" if total <= MEMORY_BUDGET else "torchvision"
        self._decoded: dict[str, dict[str, torch.Tensor]] = {}
        self._keys: dict[str, str] = {}

    @property
    def has_test_split(self) -> bool:
        return "test" in self.samples

    @property
    def predict_input_names(self) -> list[str]:
        """The file behind each sample that `predict` sees (the test split), in order."""
        return [path for path, _ in self.samples.get("test", [])]

    def _split(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Indices into `train/` for training and validation: all and none when there is a `val/`."""
        count = len(self.samples["train"])
        if "val" in self.samples:
            return torch.arange(count), torch.arange(0)
        order = torch.randperm(count, generator=torch.Generator().manual_seed(self.seed))
        held_out = round(count * self.val_fraction)
        return order[held_out:], order[:held_out]

    def _cache_key(self, split: str) -> str:
        if split not in self._keys:
            files = [path for path, _ in self.samples[split]]
            self._keys[split] = image_cache.fingerprint(
                files, self.root, self.resize and self.image_size, self.grayscale
            )
        return self._keys[split]

    def _load(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """The split decoded to uint8, from the disk cache when it is there (decoding and caching it if not)."""
        if split not in self._decoded:
            paths = [path for path, _ in self.samples[split]]
            labels = torch.tensor([label for _, label in self.samples[split]])

            def decode() -> dict[str, torch.Tensor]:
                size = self.image_size if self.resize else None
                return {"images": image_cache.decode_images(paths, size, self.grayscale), "labels": labels}

            self._decoded[split] = image_cache.load_or_build(self.root, split, self._cache_key(split), decode)
        return self._decoded[split]["images"], self._decoded[split]["labels"]

    def prepare_data(self) -> None:
        if self.loader == "memory":  # decode and cache once, on one process per node
            for split in self.samples:
                self._load(split)

    def _measure_stats(self, train_part: torch.Tensor) -> None:
        def measure() -> dict[str, torch.Tensor]:
            if self.loader == "memory":
                images = self._load("train")[0].index_select(0, train_part)
            else:
                sample = train_part[torch.randperm(len(train_part), generator=torch.Generator().manual_seed(0))]
                paths = [self.samples["train"][i][0] for i in sample[:STATS_SAMPLE].tolist()]
                images = image_cache.decode_images(paths, self.image_size, self.grayscale)
            mean, std = image_cache.channel_stats(images)
            return {"mean": torch.tensor(mean), "std": torch.tensor(std)}

        split = ("val" in self.samples, self.val_fraction, self.seed)  # what `train_part` is a function of
        key = image_cache.fingerprint([], self.root, self._cache_key("train"), split, self.loader)
        stats = image_cache.load_or_build(self.root, "stats", key, measure)
        self.mean, self.std = tuple(stats["mean"].tolist()), tuple(stats["std"].tolist())

    def setup(self, stage: str | None = None) -> None:
        if stage in ("test", "predict") and "test" not in self.samples:
            raise LitlabError(
                f"{self.root} has no test/ folder to {stage} on. Add test/<class>/ images next to train/."
            )
        if self.mean is None or self.std is None:
            self._measure_stats(self._split()[0])
        super().setup(stage)
        self._decoded.clear()  # the splits now hold what they need; drop the full decoded copies

    def memory_splits(self, fit: bool, test: bool) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        splits = {}
        if fit:
            train_part, val_part = self._split()
            images, labels = self._load("train")
            splits["train"] = (images.index_select(0, train_part), labels[train_part])
            has_val = "val" in self.samples
            splits["val"] = self._load("val") if has_val else (images.index_select(0, val_part), labels[val_part])
        if test and "test" in self.samples:
            splits["test"] = self._load("test")
        return splits

    def torchvision_splits(self, fit: bool, test: bool) -> dict[str, Dataset]:
        splits: dict[str, Dataset] = {}
        if fit:
            train_part, val_part = self._split()
            splits["train"] = Subset(self._folder("train", True), train_part.tolist())
            has_val = "val" in self.samples
            splits["val"] = self._folder("val") if has_val else Subset(self._folder("train"), val_part.tolist())
        if test and "test" in self.samples:
            splits["test"] = self._folder("test")
        return splits

    def _folder(self, split: str, train: bool = False) -> ImageFolder:
        load = partial(image_cache.open_image, grayscale=self.grayscale)
        return ImageFolder(self.root / split, self.transforms(train), loader=load, allow_empty=True)

    def transforms(self, train: bool) -> v2.Compose:
        """The torchvision path's per-image pipeline, matching the memory path's augmentation."""
        steps = [v2.ToImage()] + ([v2.Resize(self.image_size, antialias=True)] if self.resize else [])
        augment = self.augmentation
        if train and self.augment and augment.padding_for(self.image_size):
            mode = "constant" if augment.padding_mode == "zeros" else "reflect"
            padding = augment.padding_for(self.image_size)
            steps.append(v2.RandomCrop(self.image_size, padding=padding, padding_mode=mode))
        if train and self.augment and augment.flip != "none":
            steps.append(v2.RandomHorizontalFlip())
        return v2.Compose([*steps, v2.ToDtype(torch.float32, scale=True), v2.Normalize(self.mean, self.std)])
