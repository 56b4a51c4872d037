"""bfloat16 on the CPU: fast where the CPU computes it natively, slow where it has to be emulated.

With native bf16 dot products (AVX512-BF16, as on AMD Zen 4 and Intel Cooper Lake or newer, or Intel AMX),
oneDNN runs `precision: bf16-mixed` convolutions faster than float32 (benchmarks/RESULTS.md has the CPU
fast recipe's step times). Without them, bf16 is emulated with conversions around float32 arithmetic; OpenVINO's bf16
guide calls that a significant slowdown against float32. litlab has not timed it, so the CLI only warns when a
CPU run asks for bf16 on an x86 CPU that lacks the instructions. Other CPUs (e.g. ARM) are not judged.
"""

import platform

import torch
from lightning.pytorch import Trainer
from lightning.pytorch.accelerators import CPUAccelerator
from lightning.pytorch.utilities import rank_zero_warn

X86 = ("x86_64", "amd64", "i386", "i686")


def native_cpu_bf16() -> bool | None:
    """Whether this x86 CPU has the bf16 instructions oneDNN uses (AVX512-BF16 or AMX); None on other CPUs."""
    if platform.machine().lower() not in X86:
        return None
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def cpu_capability() -> str:
    """The vector instruction set PyTorch dispatches to, and whether bf16 is native: e.g. 'AVX512, native bf16'."""
    bf16 = {True: "native bf16", False: "no native bf16", None: "bf16 support not checked"}[native_cpu_bf16()]
    return f"{torch.backends.cpu.get_cpu_capability()}, {bf16}"


def warn_if_bf16_is_emulated(trainer: Trainer) -> None:
    """Warn when `trainer` trains on an x86 CPU in bf16 that the CPU does not compute natively."""
    if not isinstance(trainer.accelerator, CPUAccelerator) or not str(trainer.precision).startswith("bf16"):
        return
    if native_cpu_bf16() is not False:
        return
    rank_zero_warn(
        f"trainer.precision is {trainer.precision}, but this CPU ({cpu_capability()}) has no bf16 instructions, "
        "so bf16 is emulated, which is expected to be slower than float32. Add `--trainer.precision 32-true` "
        "to train in float32 instead."
    )
