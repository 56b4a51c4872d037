"""Multi-label images: a folder of images and a CSV saying which labels each one has.

    file,labels,split
    img/0001.png,cat dog,train
    img/0002.png,,val          <- no label at all is allowed
    img/0003.png,dog,test

`labels` holds label names separated by spaces; `split` (train/val/test) is optional: without it a seeded
`val_fraction` and `test_fraction` of the rows are held out. Images are decoded once into memory (this is
for sets that fit there) and resized to `image_size` when given; pixels are normalised with the training
split's per-channel mean and std. Targets are (N, num_labels) 0/1 floats for `MultilabelClassificationTask`.
"""

import csv
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils.data import Dataset
from torchvision.transforms import v2

from litlab.command.errors import LitlabError
from litlab.data.base import LitlabDataModule
from litlab.data.image_cache import decode_one

SPLITS = ("train", "val", "test")


class LabelledImages(Dataset):
    """(N, C, H, W) uint8 images and (N, L) targets; an item is (normalised float image, targets)."""

    def __init__(self, images: torch.Tensor, targets: torch.Tensor, mean: torch.Tensor, std: torch.Tensor,
                 flip: bool) -> None:  # fmt: skip
        self.images, self.targets, self.mean, self.std = images, targets, mean, std
        self.flip = v2.RandomHorizontalFlip() if flip else None

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = self.images[index]
        if self.flip is not None:
            image = self.flip(image)
        return (image / 255 - self.mean) / self.std, self.targets[index]


class ImageLabelsCSVData(LitlabDataModule):
    """Exposes `input_shape`, `num_labels`, `class_names` (the label names, sorted), `mean`, `std`.

    Args:
        root: folder the CSV's file paths are relative to.
        csv_file: the CSV (relative to `root` unless absolute).
        image_size: (height, width) or one side to resize to; default the images' own (equal) size.
        grayscale: read one channel instead of RGB.
        val_fraction, test_fraction: rows held out when the CSV has no `split` column.
        flip: random horizontal flips of training images; off by default (a mirror changes text, digits,
            arrows); turn it on for photos whose labels survive mirroring.
        seed: fixes the held-out rows.
    """

    def __init__(
        self,
        root: str | Path,
        csv_file: str = "labels.csv",
        image_size: int | Sequence[int] | None = None,
        grayscale: bool = False,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        flip: bool = False,
        seed: int = 42,
        batch_size: int = 64,
        num_workers: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers)
        self.save_hyperparameters()
        self.root = Path(root)
        rows = self._read_rows(self.root / csv_file)
        self.class_names = sorted({name for row in rows for name in row["labels"].split()})
        self.num_labels = len(self.class_names)
        self.rows = rows
        self.images = self._decode([row["file"] for row in rows])
        self.input_shape = tuple(self.images.shape[1:])
        self.targets = torch.zeros(len(rows), self.num_labels)
        for i, row in enumerate(rows):
            for name in row["labels"].split():
                self.targets[i, self.class_names.index(name)] = 1
        self.split_of = self._splits(rows)
        train = self.images[self.split_of == 0].float() / 255
        self.mean = train.mean(dim=(0, 2, 3)).tolist()
        self.std = train.std(dim=(0, 2, 3)).clamp_min(1e-6).tolist()

    @staticmethod
    def _read_rows(path: Path) -> list[dict[str, str]]:
        if not path.is_file():
            raise LitlabError(f"no label CSV at {path}; give data.init_args.csv_file (columns: file, labels[, split]).")
        with path.open(newline="") as file:
            rows = list(csv.DictReader(file))
        if not rows or not {"file", "labels"} <= set(rows[0]):
            raise LitlabError(f"{path} needs a header with the columns file and labels (and optionally split).")
        return [{**row, "labels": row["labels"] or ""} for row in rows]

    def _decode(self, files: list[str]) -> torch.Tensor:
        size = self.hparams.image_size
        images = []
        for name in files:
            image = decode_one(str(self.root / name), self.hparams.grayscale)  # names an unreadable file
            images.append(v2.functional.resize(image, size if size is not None else list(image.shape[1:])))
        if len({image.shape for image in images}) > 1:
            raise LitlabError("the images differ in size; give data.init_args.image_size to resize them all.")
        return torch.stack(images)

    def _splits(self, rows: list[dict[str, str]]) -> torch.Tensor:
        """Split index per row (0 train, 1 val, 2 test): the CSV's `split` column, else a seeded draw."""
        if "split" in rows[0]:
            unknown = {row["split"] for row in rows} - set(SPLITS)
            if unknown:
                raise LitlabError(f"unknown split names {sorted(unknown)} in the CSV; use train, val and test.")
            return torch.tensor([SPLITS.index(row["split"]) for row in rows])
        order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(self.hparams.seed))
        n_val, n_test = round(self.hparams.val_fraction * len(rows)), round(self.hparams.test_fraction * len(rows))
        split = torch.zeros(len(rows), dtype=torch.long)
        split[order[:n_val]], split[order[n_val : n_val + n_test]] = 1, 2
        return split

    def setup(self, stage: str | None = None) -> None:
        mean, std = torch.tensor(self.mean).view(-1, 1, 1), torch.tensor(self.std).view(-1, 1, 1)
        self.train_set, self.val_set, self.test_set = (
            LabelledImages(
                self.images[self.split_of == i],
                self.targets[self.split_of == i],
                mean,
                std,
                flip=self.hparams.flip and i == 0,
            )  # fmt: skip
            for i in range(3)
        )

    def train_targets(self) -> torch.Tensor:
        return self.targets[self.split_of == 0]
