"""Peak memory of a training run, measured in a fresh child process that reports its own high-water marks.

Why not the child's `ru_maxrss` (from `getrusage(RUSAGE_CHILDREN)` or `os.wait4`): Linux carries the
parent's peak RSS across fork + exec into the child's `ru_maxrss`, so a child started by a parent that has
torch imported reports at least the parent's size (tests/test_benchmarks.py shows it). The child's `VmHWM`
(/proc/self/status) belongs to its own address space only, and writing `5` to
/proc/self/clear_refs resets it, which splits the run into phases: set-up (imports, data generation) and
training. Elsewhere than Linux the child falls back to its `ru_maxrss`, without the split.

Variants, all on the same CIFAR-10-shaped synthetic data (`SyntheticClassificationData`, 3x32x32):
`imports` (interpreter, torch, lightning, litlab: the floor), `data` (plus the generated data set),
`hand` (plus the hand-written loop), `litlab` (the shipped config's trainer, validation off) and
`litlab_val` (the same with validation and its dashboards on). One more, `fast_cpu`, is a real CIFAR-10
run: configs/cifar10_fast_cpu.yaml as shipped (its batch size, precision and validation with TTA) on an image
folder such as the CIFAR-10 JPEG copy, read through the memory path. The child prints one line of JSON.
"""

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VARIANTS = ("imports", "data", "hand", "litlab", "litlab_val", "fast_cpu")
CONFIG = "synthetic_mlp.yaml"  # under the `configs` folder given to `measure`
FAST_CPU_CONFIG = "cifar10_fast_cpu.yaml"
STATUS, CLEAR_REFS = Path("/proc/self/status"), Path("/proc/self/clear_refs")


@dataclass(frozen=True)
class MemoryRun:
    """One child's figures in MB (None where not measured) and its wall time in seconds."""

    variant: str
    setup_peak_mb: float  # imports and data generation (the whole run where phases cannot be split)
    train_peak_mb: float | None  # from the start of training to the end, set-up excluded
    cuda_peak_mb: float | None
    seconds: float

    @property
    def peak_rss_mb(self) -> float:
        return max(self.setup_peak_mb, self.train_peak_mb or 0.0)


def measure(
    variant: str,
    samples: int,
    steps: int,
    batch_size: int,
    threads: int,
    accelerator: str,
    image_root: str | Path | None = None,
    *,
    configs: Path,
) -> MemoryRun:
    """Run one variant in a child process and return its peak memory. `configs` is the folder of the shipped
    configs; `fast_cpu` needs `image_root` and takes its batch size from its config."""
    if variant == "fast_cpu" and image_root is None:
        raise ValueError("the fast_cpu variant trains on an image folder: pass image_root")
    command = [sys.executable, "-m", "benchmarks.memory", variant, f"--samples={samples}", f"--steps={steps}"]
    command += [f"--batch-size={batch_size}", f"--threads={threads}", f"--accelerator={accelerator}"]
    command += [f"--configs={configs}"] + ([f"--image-root={image_root}"] if image_root is not None else [])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, sys.path))}  # finds benchmarks/ as we did
    start = time.perf_counter()
    child = subprocess.run(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=False, env=env
    )  # fmt: skip
    if child.returncode != 0:
        raise RuntimeError(f"memory benchmark child {variant!r} exited with {child.returncode}: {command}")
    report = json.loads(child.stdout.strip().splitlines()[-1])
    seconds = time.perf_counter() - start
    return MemoryRun(variant, report["setup_peak_mb"], report["train_peak_mb"], report["cuda_peak_mb"], seconds)


def _peak_mb() -> float:
    """This process's peak resident set size since start (or since the last `_reset_peak`)."""
    if STATUS.exists():
        for line in STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)


def _reset_peak() -> bool:
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


class _Phases:
    """Peak of the set-up phase, then the high-water mark reset so that training is measured on its own."""

    def __init__(self) -> None:
        self.setup_peak = 0.0
        self.split = False

    def start_training(self) -> None:
        self.setup_peak = _peak_mb()
        self.split = _reset_peak()

    def report(self, cuda_peak: float | None) -> dict[str, Any]:
        if not self.split:  # nothing trained, or no way to reset: one figure for the whole run
            return {"setup_peak_mb": max(self.setup_peak, _peak_mb()), "train_peak_mb": None, "cuda_peak_mb": cuda_peak}
        return {"setup_peak_mb": self.setup_peak, "train_peak_mb": _peak_mb(), "cuda_peak_mb": cuda_peak}


def _child(args: argparse.Namespace, phases: _Phases) -> None:
    # Imported here, not at the top, so that `measure` (in the parent) does not load torch.
    import torch

    torch.set_num_threads(args.threads)
    from benchmarks import loops
    from benchmarks.workload import Workload
    from litlab.data import SyntheticClassificationData

    if args.variant == "imports":
        return
    if args.variant == "fast_cpu":
        with tempfile.TemporaryDirectory(prefix="litlab-mem-") as logdir:
            _fit_with_phases(_fast_cpu_config(args, logdir), phases)
        return
    backbone = {"class_path": "litlab.models.SimpleCNN", "init_args": {}}
    workload = Workload(args.configs / CONFIG, backbone, (3, 32, 32), 10, args.batch_size, args.steps, epochs=1)
    sizes = [args.samples, args.samples // 25, args.samples // 25]
    if args.variant in ("data", "hand"):
        data = SyntheticClassificationData(10, workload.input_shape, sizes, batch_size=args.batch_size)
        data.setup("fit")
        if args.variant == "hand":
            device = "cuda" if args.accelerator != "cpu" and torch.cuda.is_available() else "cpu"
            model = workload.backbone_model()
            phases.start_training()
            loops.train_by_hand(model, data.train_dataloader(), workload, device)
        return

    with tempfile.TemporaryDirectory(prefix="litlab-mem-") as logdir:
        config = loops.litlab_config(workload, logdir, args.accelerator)
        config["data"]["init_args"].update(sizes=sizes, batch_size=args.batch_size)
        config["trainer"]["limit_train_batches"] = args.steps
        config["trainer"]["limit_val_batches"] = 1.0 if args.variant == "litlab_val" else 0
        _fit_with_phases(config, phases)


def _fast_cpu_config(args: argparse.Namespace, logdir: str) -> dict[str, Any]:
    """The shipped CPU fast recipe on the image folder `args.image_root`, one epoch of <= `args.steps` steps,
    as `litlab`'s parser resolves it (the data's loader settings carry over to the image folder)."""
    from litlab.command.cli import resolved_config

    return resolved_config(
        [
            "--config", str(args.configs / FAST_CPU_CONFIG),
            "--data", "litlab.data.ImageFolderDataModule",
            "--data.init_args.root", str(args.image_root),
            "--data.init_args.loader", "memory",
            "--trainer.logger.init_args.save_dir", logdir,
            "--trainer.max_epochs", "1",  # the config's accelerator: the CPU
            "--trainer.limit_train_batches", str(args.steps),
        ],
        run=False,
    )  # fmt: skip


def _fit_with_phases(config: dict[str, Any], phases: _Phases) -> None:
    """Fit what `litlab fit` builds from `config`; the training phase starts with training."""
    import lightning as L

    from litlab.command.cli import build_cli

    class StartTraining(L.Callback):
        def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
            phases.start_training()  # the data module was set up (data generated or decoded) before this hook

    # stdout carries the report; the progress bar goes to stderr (discarded by the parent)
    with contextlib.redirect_stdout(sys.stderr):
        cli = build_cli(args=config, run=False)
        cli.trainer.callbacks.append(StartTraining())
        cli.trainer.fit(cli.model, datamodule=cli.datamodule)


def main() -> None:
    parser = argparse.ArgumentParser(description="child process of scripts/bench_memory.py")
    parser.add_argument("variant", choices=VARIANTS)
    parser.add_argument("--samples", type=int, default=50_000)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--accelerator", default="auto")
    parser.add_argument("--image-root", help="image folder of the fast_cpu variant")
    parser.add_argument("--configs", type=Path, required=True, help="folder of the shipped configs")
    args = parser.parse_args()
    phases = _Phases()
    _child(args, phases)
    import torch

    cuda_peak = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_initialized() else None
    print(json.dumps(phases.report(cuda_peak)))


if __name__ == "__main__":
    main()
