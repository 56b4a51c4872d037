"""The three numbers a compression report compares: bytes on disk, CPU latency per batch, test metrics."""

import statistics
import tempfile
import time
from pathlib import Path

import lightning as L
import torch
from torch import nn


def state_dict_bytes(model: nn.Module) -> int:
    """Size of `torch.save(model.state_dict())` on disk: what shipping these weights costs."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "weights.pt"
        torch.save(model.state_dict(), path)
        return path.stat().st_size


@torch.inference_mode()
def cpu_latency_ms(model: nn.Module, batch: torch.Tensor, runs: int = 50, warmup: int = 5) -> float:
    """Median wall time of `model(batch)` in milliseconds over `runs` calls, after `warmup` calls.

    Uses whatever `torch.set_num_threads` the caller fixed; state it next to the number.
    """
    model = model.eval()
    for _ in range(warmup):
        model(batch)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        model(batch)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def evaluate_on_test(module: L.LightningModule, datamodule: L.LightningDataModule) -> dict[str, float]:
    """`trainer.test` on CPU with no logger, checkpoints or progress bar; returns the logged `test/...` values."""
    trainer = L.Trainer(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    (results,) = trainer.test(module, datamodule=datamodule, verbose=False)
    return results
