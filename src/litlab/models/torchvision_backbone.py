"""torchvision's classification models as litlab backbones, without downloads.

Two ways in YAML:

    backbone: torchvision.models.resnet18          # the builder itself: random init, defaults
    backbone:
      class_path: litlab.models.TorchvisionBackbone  # any builder by name, its options, local weights
      init_args: {name: resnet18, weights_path: weights/resnet18.pth, model_kwargs: {}}

Either way the model gets `num_classes` from the data and its first convolution is rebuilt for the data's
channel count (pretrained RGB filters are summed for one channel, averaged and spread for others, so a
gray image replicated to RGB gives the same response). Weights are read only from a local file the user
names (`weights_path`, loaded weights-only); torchvision's `weights=` download is never triggered.
`class_path: torchvision.models.resnet18` (with `init_args`) works too: jsonargparse would call a builder
function at once with its defaults, so the CLI rewrites that spec into the wrapper's
(`litlab.command.torchvision_class_path`).
"""

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torchvision
from torch import nn

from litlab.command.errors import LitlabError


def is_torchvision_builder(factory: object) -> bool:
    """A model-building function of `torchvision.models` (not a class): called with keywords, not shapes."""
    return (
        callable(factory)
        and not isinstance(factory, type | nn.Module)  # a built model is callable too, but takes images
        and getattr(factory, "__module__", "").startswith("torchvision.models")
    )


def build_backbone(factory: Callable[..., nn.Module], input_shape: Sequence[int], num_outputs: int) -> nn.Module:
    """`factory(input_shape, num_outputs)`, or for a torchvision builder the adapted model (no weights)."""
    if is_torchvision_builder(factory):
        return TorchvisionBackbone(input_shape, num_outputs, builder=factory)
    return factory(tuple(input_shape), num_outputs)


def _named_modules_of(model: nn.Module, kind: type[nn.Module]) -> list[tuple[str, nn.Module]]:
    return [(name, module) for name, module in model.named_modules() if isinstance(module, kind)]


def _replace(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, new)


def adapt_first_conv(model: nn.Module, channels: int) -> None:
    """Give the first Conv2d `channels` inputs, keeping its filters' response to a gray image."""
    convs = _named_modules_of(model, nn.Conv2d)
    if not convs or convs[0][1].in_channels == channels:
        return
    name, conv = convs[0]
    new = nn.Conv2d(channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation,
                    conv.groups, conv.bias is not None, conv.padding_mode)  # fmt: skip
    with torch.no_grad():
        summed = conv.weight.sum(dim=1, keepdim=True)  # a gray pixel p seen as RGB (p, p, p)
        new.weight.copy_(summed.expand(-1, channels, -1, -1) / channels)
        if conv.bias is not None:
            new.bias.copy_(conv.bias)
    _replace(model, name, new)


class TorchvisionBackbone(nn.Module):
    """A `torchvision.models` classifier built for the data: `num_outputs` classes, `input_shape[0]` channels.

    Args:
        input_shape, num_outputs: from the data (the task supplies them).
        name: a torchvision model name (`torchvision.models.list_models()`), e.g. resnet18, mobilenet_v3_small.
        weights_path: a local state_dict file of that model (e.g. torchvision's own .pth, downloaded by you);
            its classifier is replaced by a new `num_outputs` one when the counts differ. None: random init.
        model_kwargs: further arguments of the builder (e.g. `dropout`, or `image_size` for ViT).
        builder: the builder itself instead of `name` (used for `backbone: torchvision.models.<name>`).
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        name: str = "resnet18",
        weights_path: str | Path | None = None,
        model_kwargs: dict[str, Any] | None = None,
        builder: Callable[..., nn.Module] | None = None,
    ) -> None:
        super().__init__()
        if builder is None:
            try:
                builder = torchvision.models.get_model_builder(name)
            except ValueError:
                raise LitlabError(
                    f"torchvision has no model {name!r}; torchvision.models.list_models() lists them."
                ) from None
        kwargs = dict(model_kwargs or {})
        if weights_path is None:
            self.model = builder(weights=None, num_classes=num_outputs, **kwargs)
        else:
            self.model = builder(weights=None, **kwargs)
            self._load(Path(weights_path), num_outputs)
        adapt_first_conv(self.model, input_shape[0])

    def _load(self, path: Path, num_outputs: int) -> None:
        if not path.is_file():
            raise LitlabError(f"no weights file at {path}; weights_path must name a local state_dict file.")
        state = torch.load(path, map_location="cpu", weights_only=True)
        self.model.load_state_dict(state.get("state_dict", state) if isinstance(state, dict) else state)
        name, head = _named_modules_of(self.model, nn.Linear)[-1]
        if head.out_features != num_outputs:
            _replace(self.model, name, nn.Linear(head.in_features, num_outputs, bias=head.bias is not None))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
