"""What every litlab data module shares: DataLoader settings and the loaders built from three splits.

Subclasses set `self.train_set`, `self.val_set` and `self.test_set` in `setup()` and expose the shape
the task is built from: `input_shape` plus `num_classes` (classification) or `num_outputs` (regression).
Every checkpoint carries the data module's `preprocessing()` record (`litlab.data.preprocessing`).
"""

from collections.abc import Sequence
from typing import Any

import lightning as L
from torch.utils.data import DataLoader, Dataset

from litlab.data.preprocessing import STATE_KEY, Preprocessing


class LitlabDataModule(L.LightningDataModule):
    """DataLoader plumbing; `predict` reuses the test split."""

    input_shape: Sequence[int]
    train_set: Dataset
    val_set: Dataset
    test_set: Dataset

    def __init__(
        self, *, batch_size: int = 128, num_workers: int = 0, pin_memory: bool = False, persistent_workers: bool = False
    ) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.persistent_workers = persistent_workers and num_workers > 0

    def preprocessing(self) -> Preprocessing:
        """Inputs fed as they are; image data modules say how they read, resize and normalize pixels."""
        names = getattr(self, "class_names", None)
        return Preprocessing("features", tuple(self.input_shape), None if names is None else list(names))

    def state_dict(self) -> dict[str, Any]:
        """Lightning saves this in every checkpoint: the preprocessing the model was trained with (nothing for a
        subclass without `input_shape`, which the task could not have been built from anyway)."""
        return {STATE_KEY: self.preprocessing().as_dict()} if hasattr(self, "input_shape") else {}

    def _loader(self, dataset: Dataset, shuffle: bool) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.persistent_workers,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, shuffle=False)
