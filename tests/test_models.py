"""Backbones return (batch, num_outputs) for the input shapes they are built for."""

import pytest
import torch

from litlab.models import MLP, ResNet9, SimpleCNN


@pytest.mark.parametrize(
    ("model", "input_shape"),
    [
        (lambda s, n: MLP(s, n, hidden_sizes=(32, 16)), (64,)),
        (lambda s, n: MLP(s, n, hidden_sizes=(), activation="tanh"), (3, 8, 8)),
        (SimpleCNN, (3, 32, 32)),
        (SimpleCNN, (1, 28, 28)),
        (lambda s, n: ResNet9(s, n, width=8), (3, 32, 32)),
    ],
)
def test_output_shape(model, input_shape: tuple[int, ...]) -> None:
    net = model(input_shape, 7)
    assert net(torch.randn(4, *input_shape)).shape == (4, 7)


def test_mlp_layers_follow_config() -> None:
    net = MLP((10,), 3, hidden_sizes=(20, 30), dropout=0.5, activation="gelu")
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(10, 20), (20, 30), (30, 3)]
    assert sum(isinstance(m, torch.nn.GELU) for m in net.modules()) == 2


def test_resnet9_width_scales_parameters() -> None:
    small, large = ResNet9((3, 32, 32), 10, width=8), ResNet9((3, 32, 32), 10, width=16)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert 3.5 < count(large) / count(small) < 4.1  # conv weights grow with width squared
