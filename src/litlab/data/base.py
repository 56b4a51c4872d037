"""What every litlab data module shares: DataLoader settings and the loaders built from three splits.

Subclasses set `self.train_set`, `self.val_set` and `self.test_set` in `setup()` and expose the shape
the task is built from: `input_shape` plus `num_classes` (classification) or `num_outputs` (regression).
"""

from collections.abc import Sequence

import lightning as L
from torch.utils.data import DataLoader, Dataset


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
