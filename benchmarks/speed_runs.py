"""One training run of either side, as a plain record: airbench94's own code, or a litlab recipe through its CLI.

Both records hold, per epoch, the cumulative training time as each side counts it and the test accuracy after
that epoch, scored the same way on both sides: on all test images with flip-and-shift test-time augmentation
(airbench's evaluation; litlab's configs set `tta: true`) and, where the recipe uses Lookahead, its averaged
weights. Training time excludes evaluation on both sides; airbench's includes computing its whitening layer
(about 1% of a run), litlab's does not (`EpochTimer`'s `time/train_s`).

Each run is meant to happen in a fresh process (`python -m benchmarks.run_one`): importing airbench switches
on cuDNN autotuning for the whole process, and the CPU adapter rebinds names while it runs.
"""

import contextlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch


@dataclass
class EpochRecord:
    epoch: int
    train_s: float  # cumulative training time at the end of this epoch
    acc: float  # test accuracy, flip-and-shift TTA
    acc_plain: float | None = None  # airbench only: its own per-epoch score, no TTA


@dataclass
class RunRecord:
    side: str  # "airbench94" or a litlab recipe name
    seed: int
    device: str
    epochs: list[EpochRecord] = field(default_factory=list)
    own_final_acc: float | None = None  # airbench only: its own closing TTA score (ours after the last epoch matches)
    wall_s: float = 0.0  # from building the run to its last evaluation (data loading, warm-up included; imports not)
    notes: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "RunRecord":
        return cls(**{**data, "epochs": [EpochRecord(**e) for e in data["epochs"]]})


def write_runs(path: Path, runs: list[RunRecord]) -> None:
    """A list of run records as JSON (`read_runs` reads it back)."""
    path.write_text(json.dumps([r.to_json() for r in runs], indent=1) + "\n")


def read_runs(path: Path) -> list[RunRecord]:
    return [RunRecord.from_json(r) for r in json.loads(path.read_text())]


def run_airbench94(
    root: Path,
    seed: int,
    device: str,
    epochs: float | None = None,
    batch_size: int | None = None,
    final_only: bool = False,
) -> RunRecord:
    """airbench's `train94` on `root/cifar10/{train,test}.pt`, as published (on a CPU through the bf16 adapter).

    `epochs` and `batch_size` shrink smoke runs only; None keeps airbench's (9.9 epochs, batch 1024).
    `final_only`: our TTA score after the last epoch only (airbench still scores itself, without TTA, every epoch).
    """
    import airbench
    import airbench.lib_airbench94 as lib94
    import airbench.utils as utils

    from benchmarks.airbench_cpu_adapter import CHANGES, make_net94_cpu, on_cpu_bf16

    start = time.perf_counter()
    os.chdir(root)  # airbench reads its test set from ./cifar10/test.pt
    torch.manual_seed(seed)
    record = RunRecord("airbench94", seed, device, notes="" if device == "cuda" else CHANGES)
    tta_level = lib94.hyp["net"]["tta_level"]
    printer = utils.print_training_details

    def observe(variables: dict[str, Any], is_final_entry: bool) -> None:
        """airbench prints a row after each epoch; score its model then, outside its clock, with TTA too."""
        printer(variables, is_final_entry)
        epoch = variables.get("epoch")
        if epoch == "eval":
            record.own_final_acc = variables["tta_val_acc"]
        elif isinstance(epoch, int) and variables.get("run") != "warmup":
            if final_only and epoch + 1 < math.ceil(variables["epochs"]):
                return
            accuracy = airbench.evaluate(variables["model"], variables["test_loader"], tta_level)
            seconds = variables["total_time_seconds"]
            record.epochs.append(EpochRecord(epoch + 1, seconds, accuracy, variables["val_acc"]))

    cpu = device != "cuda"
    with on_cpu_bf16() if cpu else contextlib.nullcontext():
        kwargs: dict[str, Any] = {"make_net": make_net94_cpu} if cpu else {}
        size = batch_size or lib94.hyp["opt"]["batch_size"]
        loader = lib94.CifarLoader("cifar10", train=True, batch_size=size, aug=lib94.hyp["aug"], altflip=True)
        airbench.warmup94(loader, **kwargs)  # one step, as airbench's own benchmark does before timing
        utils.print_training_details = observe
        try:
            airbench.train94(loader, epochs=epochs or lib94.hyp["opt"]["train_epochs"], **kwargs)
        finally:
            utils.print_training_details = printer
    record.wall_s = time.perf_counter() - start
    return record


def built_litlab(
    args: list[str], folder: Path, seed: int, logs: Path, without: tuple[str, ...] = (), score_every: int = 1
) -> Any:
    """What `litlab fit <args>` builds (trainer, model, data; nothing run), with the image folder `folder` as its
    data (its val/ is the test set: see `eval_folder`), scored every `score_every` epochs (0: after the last one
    only), logging under `logs`.
    `without`: class names of callbacks left out of the built trainer (an override cannot drop a list entry)."""
    from benchmarks.litlab_api import build_cli

    cli = build_cli(
        [
            *args,
            "--data", "litlab.data.ImageFolderDataModule",  # the recipe's data settings carry over
            "--data.init_args.root", str(folder),
            "--seed_everything", str(seed),
            "--trainer.limit_val_batches", "1.0",
            "--trainer.check_val_every_n_epoch", str(max(score_every, 1)),
            "--trainer.logger.init_args.save_dir", str(logs),
            "--trainer.enable_progress_bar", "false",
        ],
        run=False,
    )  # fmt: skip
    cli.trainer.callbacks[:] = [c for c in cli.trainer.callbacks if type(c).__name__ not in without]
    if score_every == 0:  # read by Lightning's fit loop at each epoch end, so setting it on the built trainer holds
        cli.trainer.check_val_every_n_epoch = cli.trainer.max_epochs
    return cli


def run_litlab(
    name: str,
    args: list[str],
    folder: Path,
    seed: int,
    logs: Path,
    without: tuple[str, ...] = (),
    score_every: int = 1,
) -> RunRecord:
    """`litlab fit <args>` as `built_litlab` builds it, fitted; one record per scored epoch."""
    from benchmarks.litlab_api import AccuracyByTime

    start = time.perf_counter()
    cli = built_litlab(args, folder, seed, logs, without, score_every)
    clock = AccuracyByTime()
    cli.trainer.callbacks.append(clock)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    device = cli.trainer.strategy.root_device.type
    record = RunRecord(name, seed, device, [EpochRecord(p.epoch, p.train_seconds, p.accuracy) for p in clock.points])
    record.wall_s = time.perf_counter() - start
    return record
