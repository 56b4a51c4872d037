"""Test-time augmentation for image classifiers: average the logits over flipped and shifted views.

The views are those of airbench's evaluation: the image and its mirror image (weight 1/2 together), and both of
those shifted by one pixel up-left and down-right with reflected borders (1/2 together). All views go through
the model as one batch.
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F


def tta_views(x: torch.Tensor, translate: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack the views of a (B, C, H, W) batch into (V * B, C, H, W) and return them with their V weights."""
    if x.dim() != 4:
        raise ValueError(f"test-time augmentation needs (B, C, H, W) images, got shape {tuple(x.shape)}")
    bases = [x]
    if translate:
        height, width = x.shape[-2:]
        padded = F.pad(x, (1, 1, 1, 1), mode="reflect")
        bases += [padded[..., :height, :width], padded[..., 2:, 2:]]
    views = [view for base in bases for view in (base, base.flip(-1))]
    weights = [0.25, 0.25] + [0.125] * 4 if translate else [0.5, 0.5]
    return torch.cat(views), torch.tensor(weights, device=x.device)


def tta_logits(model: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, translate: bool = True) -> torch.Tensor:
    """Weighted mean of `model`'s logits over the views of `x`: (B, num_classes)."""
    views, weights = tta_views(x, translate)
    logits = model(views).unflatten(0, (len(weights), len(x)))  # (V, B, num_classes)
    return (weights.to(logits.dtype).view(-1, 1, 1) * logits).sum(0)
