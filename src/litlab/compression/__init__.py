"""Shrinking a trained model: sparsity from pruning, int8 dynamic quantization, and how to measure both.

`scripts/prune_report.py` and `scripts/quantize_report.py` are thin wrappers over these modules.
"""

from litlab.compression.measure import cpu_latency_ms, evaluate_on_test, state_dict_bytes
from litlab.compression.quantization import quantize_dynamic_int8
from litlab.compression.sparsity import prunable_weights, prune_global_l1, sparsity

__all__ = [
    "cpu_latency_ms",
    "prunable_weights",
    "prune_global_l1",
    "quantize_dynamic_int8",
    "sparsity",
    "state_dict_bytes",
    "evaluate_on_test",
]
