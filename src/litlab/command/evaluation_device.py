"""Evaluate a GPU-trained run where there is no GPU: `litlab test|validate|predict` falls back to the CPU.

A run trained with `configs/trainer/gpu.yaml` saves `trainer.accelerator: gpu` (and perhaps bf16 or DDP) in its
`config.yaml`. Evaluating its checkpoint on a laptop should work as `torch.load(..., map_location="cpu")` does
in the tutorials, so when the configs ask for an accelerator this machine lacks and the command line does not
choose one, the command runs on one CPU process in float32, and says so. `litlab fit` never falls back: training
on a different device than asked is an error (litlab.command.config_errors says what to change).
"""

from pathlib import Path

import yaml
from lightning.pytorch.accelerators import CUDAAccelerator, MPSAccelerator

from litlab.command.input_checks import config_files

EVALUATING = ("test", "validate", "predict")
PRESENT = {"gpu": lambda: CUDAAccelerator.is_available() or MPSAccelerator.is_available()}
PRESENT |= {"cuda": CUDAAccelerator.is_available, "mps": MPSAccelerator.is_available}
ON_THE_CPU = ["--trainer.accelerator", "cpu", "--trainer.devices", "1", "--trainer.num_nodes", "1"]
ON_THE_CPU += ["--trainer.strategy", "auto", "--trainer.precision", "32-true"]


def _accelerator_in(paths: list[Path]) -> str | None:
    """`trainer.accelerator` as the stacked config files set it (the last file that sets it wins)."""
    accelerator = None
    for path in paths:
        try:
            raw = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError):
            continue  # LightningCLI reports a missing or broken file in its own words
        trainer = raw.get("trainer") if isinstance(raw, dict) else None
        if isinstance(trainer, dict) and "accelerator" in trainer:
            accelerator = str(trainer["accelerator"])
    return accelerator


def evaluate_where_possible(words: list[str]) -> list[str]:
    """`words` with CPU settings appended when an evaluation's configs ask for an accelerator that is absent."""
    if not words or words[0] not in EVALUATING:
        return words
    if any(w.split("=")[0] in ("--trainer.accelerator", "--trainer.devices") for w in words):
        return words  # the user chose
    accelerator = _accelerator_in(config_files(words))
    present = PRESENT.get((accelerator or "").lower())
    if present is None or present():
        return words
    print(
        f"litlab: the config trained on trainer.accelerator {accelerator}, which this machine does not have; "
        f"{words[0]} runs on the CPU in float32 (--trainer.accelerator and --trainer.precision choose otherwise)."
    )
    return [*words, *ON_THE_CPU]
