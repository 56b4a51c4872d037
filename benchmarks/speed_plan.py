"""What the speed benchmarks run: litlab's recipes and the gap-analysis ablations, each a stack of `litlab fit`
arguments, plus the data each needs and the loop that runs every (side, seed) in its own process."""

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.jpeg_copy import reencoded, subset, to_airbench
from benchmarks.litlab_api import eval_folder
from benchmarks.speed_runs import RunRecord

ROOT = Path(__file__).resolve().parents[1]
RECIPES = {  # name: config files stacked in order, as `litlab fit --config A --config B`
    "fast_cpu": ["configs/cifar10_fast_cpu.yaml"],
    "fast_cpu_15min": ["configs/cifar10_fast_cpu.yaml", "configs/variants/cifar10_fast_cpu_15min.yaml"],
    "fast_gpu": ["configs/cifar10_fast.yaml", "configs/trainer/gpu.yaml"],
    "cnn_gpu": ["configs/cifar10_cnn.yaml", "configs/trainer/gpu.yaml"],
}
SMOKE_IMAGES = {"train": 30, "test": 10}  # per class
SMOKE_BATCH = 32  # 2 steps on the test suite's 90 images, 9 on the smoke subset


@dataclass(frozen=True)
class Ablation:
    """One change to a recipe: extra `litlab fit` arguments, callbacks left out, or the twice-encoded data.
    `airbench`: also run airbench94 on this ablation's data (where only the data changes)."""

    name: str
    what: str
    args: tuple[str, ...] = ()
    without: tuple[str, ...] = ()
    jpeg_twice: bool = False
    airbench: bool = False


ABLATIONS = (
    Ablation("recipe", "the recipe as shipped", airbench=True),
    Ablation("jpeg-twice", "the copy JPEG-encoded once more (quality 75)", jpeg_twice=True, airbench=True),
    Ablation("no-resizing", "every epoch at 32x32", ("--data.init_args.augmentation.epoch_sizes", "[]")),
    Ablation(
        "epochs-10",
        "airbench94's schedule length, 10 epochs (airbench: 9.9), the resized ones unchanged; the learning-rate and"
        " Lookahead schedules have airbench's shape at any length",
        ("--trainer.max_epochs", "10"),
    ),
    Ablation(
        "batch-1024",
        "airbench's batch (1024) and the recipe's learning rate for it (1.5)",
        (
            "--data.init_args.batch_size",
            "1024",
            "--model.init_args.optimizer.init_args.lr",
            "1.5",
            "--model.init_args.scheduler.init_args.max_lr",
            "1.5",
        ),
    ),  # fmt: skip
    Ablation("no-tta", "scored without test-time augmentation", ("--model.init_args.tta", "false")),
    Ablation("no-whitening", "first layer left at its random initialisation", without=("WhiteningInit",)),
    Ablation("no-lookahead", "no Lookahead weight averaging", without=("Lookahead",)),
)


@dataclass(frozen=True)
class Data:
    folder: Path  # image folder whose val/ is the test set, for litlab
    airbench_root: Path  # holds cifar10/train.pt and cifar10/test.pt, for airbench


def prepare(source: Path, work: Path, smoke: bool, jpeg_twice: bool = False) -> Data:
    """The JPEG copy (a few hundred images of it for `smoke`), optionally re-encoded, in both sides' forms."""
    name = "smoke" if smoke else "full"
    images = subset(source, work / f"{name}-images", SMOKE_IMAGES) if smoke else source
    if jpeg_twice:
        images = reencoded(images, work / f"{name}-jpeg-twice")
        name += "-jpeg-twice"
    folder = eval_folder(images.resolve(), work / f"{name}-scored-on-test")
    airbench_root = work / f"{name}-airbench"
    to_airbench(images, airbench_root / "cifar10")
    return Data(folder, airbench_root)


def litlab_spec(
    recipe: str,
    data: Data,
    seed: int,
    logs: Path,
    smoke: bool,
    ablation: Ablation = ABLATIONS[0],
    extra: tuple[str, ...] = (),
    score_every: int = 1,
) -> dict:
    """A litlab run of `recipe` with `ablation`'s changes and then `extra` arguments; test set scored every
    `score_every` epochs. `smoke` shrinks it to one epoch of batches of `SMOKE_BATCH` (`extra` still wins)."""
    args = [word for config in RECIPES[recipe] for word in ("--config", str(ROOT / config))]
    args += ablation.args
    if smoke:  # after the ablation's arguments: a smoke run of `batch-1024` has a few hundred images
        args += ["--trainer.max_epochs", "1", "--data.init_args.batch_size", str(SMOKE_BATCH)]
    args += extra
    name = recipe if ablation.name == "recipe" else f"{recipe} {ablation.name}"
    spec = {"side": "litlab", "name": name, "folder": str(data.folder), "seed": seed, "logs": str(logs)}
    return {**spec, "args": args, "without": list(ablation.without), "score_every": score_every}


def airbench_spec(data: Data, seed: int, device: str, smoke: bool, final_only: bool = False) -> dict:
    shrink = {"epochs": 1, "batch_size": SMOKE_BATCH} if smoke else {}
    spec = {"side": "airbench94", "root": str(data.airbench_root), "seed": seed, "device": device}
    return {**spec, "final_only": final_only, **shrink}


def run(spec: dict, env: dict[str, str] | None = None) -> RunRecord:
    """`spec` run by `python -m benchmarks.run_one` in a fresh process; its output streams through."""
    with tempfile.TemporaryDirectory(prefix="litlab-speed-") as scratch:
        spec_file, result_file = Path(scratch, "spec.json"), Path(scratch, "result.json")
        spec_file.write_text(json.dumps(spec))
        command = [sys.executable, "-m", "benchmarks.run_one", str(spec_file), str(result_file)]
        subprocess.run(command, cwd=ROOT, env=env, check=True)
        return RunRecord.from_json(json.loads(result_file.read_text()))
