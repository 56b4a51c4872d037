"""Synthetic binary and multi-label data, learnable and deterministic from a seed, imbalanced on purpose.

Each label has a fixed random prototype; a sample is the sum of the prototypes of its positive labels plus
Gaussian noise. Label j is positive with probability `positive_fractions[j]`, so rare labels (where
`pos_weight` and AUROC matter) are easy to make.
"""

from collections.abc import Sequence

import torch

from litlab.data.synthetic import SyntheticData


class SyntheticMultilabelData(SyntheticData):
    """(B, *input_shape) inputs with (B, num_labels) 0/1 float targets.

    Args:
        num_labels: number of independent labels.
        input_shape: shape of one sample.
        positive_fractions: chance of each label being positive; one value for all, or one per label.
        sizes: number of train, val and test samples.
        noise: standard deviation of the noise (prototypes have std 1).
        seed: fixes prototypes and samples.
    """

    def __init__(
        self,
        num_labels: int = 5,
        input_shape: tuple[int, ...] = (32,),
        positive_fractions: float | Sequence[float] = 0.3,
        sizes: Sequence[int] = (4000, 1000, 1000),
        noise: float = 1.5,
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
        self.label_count = num_labels  # `num_labels` is what the multi-label task links; binary has none
        if type(self) is SyntheticMultilabelData:
            self.num_labels = num_labels
        self.input_shape = self.hparams.input_shape  # the very value logged, so the task's copy matches
        self.class_names = [f"label_{i}" for i in range(num_labels)]
        fractions = positive_fractions
        if isinstance(fractions, float | int):
            fractions = [fractions] * num_labels
        self.positive_fractions = torch.tensor(fractions, dtype=torch.float32)
        self.prototypes = torch.randn(num_labels, *self.input_shape, generator=torch.Generator().manual_seed(seed))

    def _make(self, size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        targets = (torch.rand(size, self.label_count, generator=generator) < self.positive_fractions).float()
        x = torch.einsum("bl,l...->b...", targets, self.prototypes)
        return x + self.noise * torch.randn(size, *self.input_shape, generator=generator), targets

    def train_targets(self) -> torch.Tensor:
        return self.train_set.tensors[1]


class SyntheticBinaryData(SyntheticMultilabelData):
    """One label: (B, *input_shape) inputs with (B,) 0/1 float targets; class names "negative", "positive".

    Args: as `SyntheticMultilabelData`, with `positive_fraction` the share of positive samples.
    """

    def __init__(
        self,
        input_shape: tuple[int, ...] = (32,),
        positive_fraction: float = 0.2,
        sizes: Sequence[int] = (4000, 1000, 1000),
        noise: float = 1.5,
        seed: int = 0,
        batch_size: int = 128,
        num_workers: int = 0,
        pin_memory: bool = False,
        persistent_workers: bool = False,
    ) -> None:
        super().__init__(
            1, input_shape, positive_fraction, sizes, noise, seed, batch_size, num_workers, pin_memory,
            persistent_workers,
        )  # fmt: skip
        self.save_hyperparameters()
        self.class_names = ["negative", "positive"]

    def _make(self, size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        x, targets = super()._make(size, generator)
        return x, targets.squeeze(-1)
