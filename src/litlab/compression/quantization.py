"""Post-training dynamic int8 quantization of the Linear layers, for CPU inference.

Weights are stored as int8 with one scale per tensor; activations are quantized on the fly per batch, so no
calibration data is needed. Conv layers stay float: dynamic quantization has no conv kernels.

It uses `torch.ao.quantization.quantize_dynamic`. torch 2.14 marks `torch.ao.quantization` deprecated in
favour of torchao, but torchao's `Int8DynamicActivationInt8WeightConfig` has no fast eager CPU kernel
(far slower than float on the demo MLP without torch.compile; see benchmarks/RESULTS.md), while `quantize_dynamic` runs
the fbgemm/x86 int8 kernels shipped with torch: no extra dependency, works offline, about float speed on the
demo MLP (too small for int8 matmuls to pay off) and a quarter of the weight bytes.
"""

import copy
import warnings

import torch
from torch import nn


def quantize_dynamic_int8(model: nn.Module) -> nn.Module:
    """An int8 dynamically quantized copy of `model` (Linear layers only), in eval mode, on CPU."""
    model = copy.deepcopy(model).cpu().eval()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.ao\.quantization is deprecated")
        warnings.filterwarnings("ignore", message=r".*quantize_per_tensor.*deprecated")
        return torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
