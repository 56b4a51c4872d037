"""Multi-layer perceptron over flattened inputs: the demo model and the baseline for vector data."""

import math
from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

Activation = Literal["relu", "gelu", "silu", "tanh"]
ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh}


class MLP(nn.Module):
    """Flatten -> [Linear -> activation -> Dropout] * len(hidden_sizes) -> Linear.

    Args:
        input_shape: shape of one sample, e.g. (3, 32, 32) or (64,); it is flattened.
        num_outputs: classes for classification, targets for regression.
        hidden_sizes: width of each hidden layer; empty gives a linear model.
        dropout: dropout probability after each hidden activation.
        activation: name of the hidden activation.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        hidden_sizes: Sequence[int] = (256, 128),
        dropout: float = 0.1,
        activation: Activation = "relu",
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(input_shape)
        for size in hidden_sizes:
            layers += [nn.Linear(width, size), ACTIVATIONS[activation](), nn.Dropout(dropout)]
            width = size
        layers.append(nn.Linear(width, num_outputs))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)  # (B, *input_shape) -> (B, num_outputs)
