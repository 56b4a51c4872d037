"""bfloat16 on the CPU: fast where the CPU computes it natively, slow where it is emulated.

With native bf16 dot products (AVX512-BF16, as on AMD Zen 4 and Intel Cooper Lake or newer, or Intel AMX),
oneDNN runs `precision: bf16-mixed` convolutions about 1.5x faster than float32: on a 2-core AMD EPYC
(Zen 4) the CPU fast recipe's 32x32 step went from 231 to 157 ms (AirbenchNet 24/96/96, batch 256,
channels_last). Without it, PyTorch converts to and from bf16 around float32 arithmetic, which is slower than
float32 alone. The CLI warns when a CPU run asks for bf16 the CPU cannot compute natively.
"""

import torch
from lightning.pytorch import Trainer
from lightning.pytorch.accelerators import CPUAccelerator
from lightning.pytorch.utilities import rank_zero_warn


def native_cpu_bf16() -> bool:
    """Whether this CPU has bf16 dot-product instructions oneDNN uses (AVX512-BF16 or AMX)."""
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def cpu_capability() -> str:
    """The vector instruction set PyTorch dispatches to, and whether bf16 is native: e.g. 'AVX512, native bf16'."""
    bf16 = "native bf16" if native_cpu_bf16() else "no native bf16"
    return f"{torch.backends.cpu.get_cpu_capability()}, {bf16}"


def warn_if_bf16_is_emulated(trainer: Trainer) -> bool:
    """Warn (and return True) when `trainer` trains on the CPU in bf16 that this CPU does not compute natively."""
    if not isinstance(trainer.accelerator, CPUAccelerator) or not str(trainer.precision).startswith("bf16"):
        return False
    if native_cpu_bf16():
        return False
    rank_zero_warn(
        f"trainer.precision is {trainer.precision}, but this CPU ({cpu_capability()}) has no bf16 instructions, "
        "so bf16 is emulated and slower than float32. Add `--trainer.precision 32-true` to train faster here."
    )
    return True
