"""Run airbench94's own published code (the `airbench` package) on a CPU in bfloat16. Benchmark-only.

The package assumes a CUDA GPU and float16. This adapter changes where its tensors live and their 16-bit
float type, and nothing else: the network, initialisation, data order, augmentation, optimizer, schedule,
Lookahead, whitening and test-time augmentation are the package's code, run as it is. Exactly five things
change while `on_cpu_bf16()` is active:

1. `CifarLoader` loads its tensor file to the CPU (`torch.load(map_location=cpu)` instead of GPU 0): its
   `gpu` argument defaults to "cpu".
2. The loader's images, which the package casts to float16, are cast on to bfloat16 (uint8 / 255 is exact
   to float16's precision, so this is the same as casting uint8 / 255 to bfloat16 directly).
3. While `make_net94` builds the network, `nn.Module.half()` means `.to(torch.bfloat16)` and
   `nn.Module.cuda()` leaves the module on the CPU (its BatchNorm layers are still put back to float32).
4. `torch.cuda.Event(enable_timing=True)` and `torch.cuda.synchronize()` as `airbench.utils` sees them are a
   wall clock (`time.perf_counter`), which is exact on the CPU where every operation is synchronous.
5. `torch.half` as `airbench.utils` sees it is `torch.bfloat16`: its Lookahead updates only tensors whose
   dtype is `torch.half` or `torch.float`, so without this the bf16 weights would silently skip Lookahead.

Nothing from airbench is copied here: everything above wraps or rebinds names of the installed package.
"""

import contextlib
import time
import types
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

CHANGES = (
    "data loaded to the CPU; images and weights bfloat16 where airbench94 uses float16 (BatchNorm float32, as"
    " in airbench); its CUDA event timer read as a wall clock; its Lookahead dtype check told bfloat16 is its"
    " half type. Nothing in the training recipe changed (benchmarks/airbench_cpu_adapter.py)"
)


class WallClockEvent:
    """Stands in for `torch.cuda.Event(enable_timing=True)`: `record()` reads the clock, `elapsed_time` is ms."""

    def __init__(self, enable_timing: bool = True) -> None:
        self.time = 0.0

    def record(self, stream: Any = None) -> None:
        self.time = time.perf_counter()

    def elapsed_time(self, end: "WallClockEvent") -> float:
        return 1e3 * (end.time - self.time)


def _cpu_torch() -> types.ModuleType:
    """A stand-in for the `torch` module inside `airbench.utils`: torch itself, except for changes 4 and 5."""
    cuda = types.SimpleNamespace(Event=WallClockEvent, synchronize=lambda device=None: None)
    proxy = types.ModuleType("torch")
    proxy.__getattr__ = lambda name: getattr(torch, name)  # module-level __getattr__ (PEP 562)
    proxy.cuda = cuda
    proxy.half = torch.bfloat16
    return proxy


def _cpu_loader(loader_class: type) -> type:
    """`airbench.utils.CifarLoader` with changes 1 and 2."""

    class CpuCifarLoader(loader_class):
        def __init__(self, *args: Any, gpu: Any = "cpu", **kwargs: Any) -> None:
            super().__init__(*args, gpu=gpu, **kwargs)
            self.images = self.images.to(torch.bfloat16)

    return CpuCifarLoader


@contextlib.contextmanager
def _modules_built_for_cpu_bf16() -> Iterator[None]:
    """Change 3: `half()` casts to bfloat16 and `cuda()` is a no-op, for modules built inside the block."""
    half, cuda = nn.Module.half, nn.Module.cuda
    nn.Module.half = lambda self: self.to(torch.bfloat16)
    nn.Module.cuda = lambda self, device=None: self
    try:
        yield
    finally:
        nn.Module.half, nn.Module.cuda = half, cuda


def make_net94_cpu(**kwargs: Any) -> nn.Module:
    """airbench's `make_net94`, built on the CPU in bfloat16 (change 3)."""
    import airbench

    with _modules_built_for_cpu_bf16():
        return airbench.make_net94(**kwargs)


@contextlib.contextmanager
def on_cpu_bf16() -> Iterator[None]:
    """Inside this block, `airbench.train94(make_net=make_net94_cpu, ...)` runs on the CPU in bfloat16."""
    import airbench.lib_airbench94 as lib94
    import airbench.utils as utils

    saved = {(utils, "torch"): utils.torch, (utils, "CifarLoader"): utils.CifarLoader}
    saved[(lib94, "CifarLoader")] = lib94.CifarLoader
    loader = _cpu_loader(utils.CifarLoader)
    utils.torch, utils.CifarLoader, lib94.CifarLoader = _cpu_torch(), loader, loader
    try:
        yield
    finally:
        for (module, name), value in saved.items():
            setattr(module, name, value)
