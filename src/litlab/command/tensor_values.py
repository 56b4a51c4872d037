"""A YAML list of numbers where a constructor takes a `torch.Tensor`: `CrossEntropyLoss(weight=[1, 3])` in a config.

jsonargparse has no conversion from a list to a Tensor (jsonargparse #196, Lightning #20324); its documented
way to teach it one is `register_type` with a serializer and a deserializer, done here once for every parser.
A value that is not a number or a flat list of numbers is refused with the type it must have; whether its
length fits the data (one weight per class) is checked by the task that knows the class count
(`litlab.tasks.losses.check_loss_weights`).
"""

import torch
from jsonargparse.typing import register_type

NUMBERS = "a number or a list of numbers (a loss's weight: one per class), e.g. [1.0, 2.5]"


def tensor_from_config(value: object) -> torch.Tensor:
    """A float32 tensor from a number or a flat list of numbers (a Tensor passes through)."""
    if isinstance(value, torch.Tensor):
        return value
    items = value if isinstance(value, list | tuple) else [value]
    if not items or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in items):
        raise ValueError(f"expected {NUMBERS}, got {value!r}")
    return torch.tensor(items if isinstance(value, list | tuple) else value, dtype=torch.float32)


def register_tensor_type() -> None:
    register_type(
        torch.Tensor,
        serializer=lambda tensor: tensor.tolist(),
        deserializer=tensor_from_config,
        type_check=lambda value, _: isinstance(value, torch.Tensor),
    )
