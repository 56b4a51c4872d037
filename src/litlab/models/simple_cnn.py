"""The textbook small CNN (conv32 -> conv64 -> fc128): the baseline every speed-up is measured against."""

from collections.abc import Sequence

import torch
from torch import nn


class SimpleCNN(nn.Module):
    """Two 3x3 conv + max-pool stages, then a 128-unit hidden layer.

    Args:
        input_shape: (channels, height, width) of one image; height and width divisible by 4.
        num_outputs: number of classes.
    """

    def __init__(self, input_shape: Sequence[int], num_outputs: int) -> None:
        super().__init__()
        channels, height, width = input_shape
        self.features = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, 32, H/2, W/2)
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, 64, H/4, W/4)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * (height // 4) * (width // 4), 128), nn.ReLU(), nn.Linear(128, num_outputs)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))  # (B, C, H, W) -> (B, num_outputs)
