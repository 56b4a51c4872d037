"""Which weights pruning acts on, how sparse they are, and one-shot global L1 pruning of a trained model.

Only the weight matrices of Linear and Conv layers are pruned: biases are few, and zeroing BatchNorm scales
would switch whole channels off, which is structured pruning by accident.
"""

import torch
from torch import nn
from torch.nn.utils import prune

PRUNABLE = (nn.Linear, nn.modules.conv._ConvNd)


def prunable_weights(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(qualified name, module) of every Linear and Conv layer in `model`."""
    return [(name, module) for name, module in model.named_modules() if isinstance(module, PRUNABLE)]


def sparsity(model: nn.Module) -> dict[str, float]:
    """Fraction of exact zeros in each prunable weight, keyed by layer name, plus the total under "global"."""
    result: dict[str, float] = {}
    zeros = total = 0
    for name, module in prunable_weights(model):
        weight = module.weight  # with a pruning hook attached this is already weight_orig * mask
        layer_zeros = int((weight == 0).sum())
        result[name] = layer_zeros / weight.numel()
        zeros, total = zeros + layer_zeros, total + weight.numel()
    result["global"] = zeros / total if total else 0.0
    return result


@torch.no_grad()
def prune_global_l1(model: nn.Module, amount: float) -> nn.Module:
    """Zero the `amount` fraction of smallest-magnitude prunable weights across all layers, in place, permanently."""
    params = [(module, "weight") for _, module in prunable_weights(model)]
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=amount)
    for module, name in params:
        prune.remove(module, name)
    return model
