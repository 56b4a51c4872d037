"""Synthetic data that is learnable and deterministic from a seed: demos and tests run offline in seconds.

Classification: each class has a fixed random prototype; a sample is its class prototype plus Gaussian
noise, so accuracy well above chance proves a model learned. Regression: targets are a fixed random
linear map of the inputs passed through tanh, plus noise.
"""

import math
from collections.abc import Sequence

import torch
from torch.utils.data import TensorDataset

from litlab.data.base import LitlabDataModule


class SyntheticData(LitlabDataModule):
    """What both synthetic data modules share: three splits drawn by `_make(size, generator)`, one generator per
    split seeded from `seed`, so each split is reproducible on its own. Subclasses draw the samples."""

    def __init__(
        self,
        *,
        sizes: Sequence[int],
        noise: float,
        seed: int,
        batch_size: int,
        num_workers: int,
        pin_memory: bool,
        persistent_workers: bool,
    ) -> None:
        super().__init__(
            batch_size=batch_size, num_workers=num_workers, pin_memory=pin_memory, persistent_workers=persistent_workers
        )
        self.noise = noise
        self.sizes = tuple(sizes)
        self.seed = seed

    def _make(self, size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        sets = []
        for offset, size in enumerate(self.sizes, start=1):
            generator = torch.Generator().manual_seed(self.seed + offset)
            sets.append(TensorDataset(*self._make(size, generator)))
        self.train_set, self.val_set, self.test_set = sets


class SyntheticClassificationData(SyntheticData):
    """Class prototypes plus noise. `input_shape` may be image-like (3, 32, 32) or a vector (64,).

    Args:
        num_classes: number of classes.
        input_shape: shape of one sample.
        sizes: number of train, val and test samples.
        noise: standard deviation of the noise around each prototype (prototypes have std 1).
        seed: fixes prototypes and samples.
    """

    def __init__(
        self,
        num_classes: int = 10,
        input_shape: tuple[int, ...] = (64,),
        sizes: Sequence[int] = (8000, 1000, 1000),
        noise: float = 3.0,
        seed: int = 0,
        batch_size: int = 128,
        num_workers: int = 0,
        pin_memory: bool = False,
        persistent_workers: bool = False,
    ) -> None:
        super().__init__(
            sizes=sizes, noise=noise, seed=seed, batch_size=batch_size, num_workers=num_workers,
            pin_memory=pin_memory, persistent_workers=persistent_workers,
        )  # fmt: skip
        self.save_hyperparameters()
        self.num_classes = num_classes
        self.input_shape = self.hparams.input_shape  # the very value logged, so the task's copy matches
        self.class_names = [f"class_{i}" for i in range(num_classes)]
        self.prototypes = torch.randn(num_classes, *self.input_shape, generator=torch.Generator().manual_seed(seed))

    def _make(self, size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.randint(self.num_classes, (size,), generator=generator)
        x = self.prototypes[labels] + self.noise * torch.randn(size, *self.input_shape, generator=generator)
        return x, labels


class SyntheticRegressionData(SyntheticData):
    """y = tanh(x W) + noise with a fixed random W, x ~ N(0, 1).

    Args:
        num_outputs: number of regression targets.
        input_shape: shape of one sample.
        sizes: number of train, val and test samples.
        noise: standard deviation of the target noise.
        seed: fixes W and samples.
    """

    def __init__(
        self,
        num_outputs: int = 1,
        input_shape: tuple[int, ...] = (16,),
        sizes: Sequence[int] = (8000, 1000, 1000),
        noise: float = 0.1,
        seed: int = 0,
        batch_size: int = 128,
        num_workers: int = 0,
        pin_memory: bool = False,
        persistent_workers: bool = False,
    ) -> None:
        super().__init__(
            sizes=sizes, noise=noise, seed=seed, batch_size=batch_size, num_workers=num_workers,
            pin_memory=pin_memory, persistent_workers=persistent_workers,
        )  # fmt: skip
        self.save_hyperparameters()
        self.num_outputs = num_outputs
        self.input_shape = self.hparams.input_shape  # the very value logged, so the task's copy matches
        features = math.prod(self.input_shape)
        generator = torch.Generator().manual_seed(seed)
        self.weight = torch.randn(features, num_outputs, generator=generator) / features**0.5

    def _make(self, size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.randn(size, *self.input_shape, generator=generator)
        y = torch.tanh(2 * x.flatten(1) @ self.weight) + self.noise * torch.randn(
            size, self.num_outputs, generator=generator
        )
        return x, y
