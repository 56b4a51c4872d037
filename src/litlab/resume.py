"""What `--ckpt_path last` and `make resume` continue: an experiment's newest run and its newest readable checkpoint.

Lightning's own `ckpt_path="last"` looks in the checkpoint folder of the run it is about to *create*, which
is empty, so the CLI resolves "last" before anything is instantiated. It picks the training run
`<save_dir>/<name>/version_<N>` with the highest N (or the version the config names; folders of `litlab
test` runs of the experiment are passed over), sets the logger's `version` to it so TensorBoard keeps one
run, and picks that run's checkpoint with the highest global step that loads (`last.ckpt` wins ties).
Unreadable checkpoints are skipped with a warning; temp files left by a write that was killed are removed.

    python -m litlab.resume [--logs DIR] [litlab fit overrides...]

finds the training run under `logs/` written to most recently (any experiment) and resumes it with its
own `config.yaml`; `make resume` runs it.
"""

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml
from lightning.pytorch.utilities import rank_zero_only, rank_zero_warn

from litlab.checkpoint_io import describe_load_error, is_temp_file

VERSION_FOLDER = re.compile(r"version_(\d+)")


@dataclass(frozen=True)
class Resumption:
    """Where a resumed run continues: its folder, the logger version naming it, and the checkpoint (or None)."""

    run: Path
    version: int | str
    checkpoint: Path | None


def version_of(run: Path) -> int | str:
    """The TensorBoardLogger/CSVLogger `version` whose log folder is `run`."""
    match = VERSION_FOLDER.fullmatch(run.name)
    return int(match.group(1)) if match else run.name


def run_folder(root: Path, version: int | str) -> Path:
    return root / (f"version_{version}" if isinstance(version, int) else version)


def is_training_run(run: Path) -> bool:
    """Not the folder of a `litlab validate/test/predict` run, which log under the same experiment name: their
    saved config has the method's `verbose` or `return_predictions` key, a `fit` config has neither."""
    config = run / "config.yaml"
    keys = (yaml.safe_load(config.read_text()) or {}).keys() if config.is_file() else set()
    return not {"verbose", "return_predictions"} & set(keys)


def numbered_runs(root: Path) -> list[Path]:
    """The training runs' `version_<N>` folders under `root`, oldest (lowest N) first."""
    runs = [p for p in root.glob("version_*") if p.is_dir() and VERSION_FOLDER.fullmatch(p.name)]
    return sorted((run for run in runs if is_training_run(run)), key=version_of)


def checkpoint_files(run: Path) -> list[Path]:
    return sorted((run / "checkpoints").glob("*.ckpt"))


def stops_before_epoch_end(checkpoint: dict) -> bool:
    """Written after an epoch's last training batch but before the epoch's end (its validation, the epoch-end
    checkpoint): Lightning resumes such a checkpoint as if the epoch had ended, so those never happen."""
    fit_loop = checkpoint.get("loops", {}).get("fit_loop", {})
    epochs = fit_loop.get("epoch_progress", {}).get("current", {})
    last_batch = fit_loop.get("epoch_loop.batch_progress", {}).get("is_last_batch", False)
    return bool(last_batch) and epochs.get("processed", 0) < epochs.get("ready", 0)


def newest_readable_checkpoint(run: Path) -> Path | None:
    """The checkpoint of `run` with the highest global step that loads; unreadable ones are skipped with a warning.

    A step checkpoint written at an epoch's last batch comes after any other (see `stops_before_epoch_end`):
    resuming from the previous epoch's end instead trains that epoch again, and the run stays exact.
    """
    ranked = []
    for path in checkpoint_files(run):
        try:  # memory-mapped: only the small pickled part is read, the weights stay on disk
            checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except Exception as error:  # any failure to read means "not usable"; the warning says why
            rank_zero_warn(describe_load_error(path, error) + " Skipped it.")
            continue
        step = int(checkpoint.get("global_step", -1))
        resumable = not stops_before_epoch_end(checkpoint)
        ranked.append((resumable, step, path.stem.startswith("last"), path.stat().st_mtime, path))
    return max(ranked)[-1] if ranked else None


@rank_zero_only  # every process of a distributed job resolves `last`; one cleans up
def remove_partial_writes(run: Path) -> None:
    for temp in (run / "checkpoints").glob(".*"):
        if is_temp_file(temp):
            temp.unlink(missing_ok=True)
            rank_zero_warn(f"Removed {temp}, a checkpoint write that was cut short.")


def resolve_last(save_dir: str | Path, name: str | None, version: int | str | None) -> Resumption | None:
    """The run and checkpoint `--ckpt_path last` continues; None when the experiment has no run yet."""
    root = Path(save_dir) / name if name else Path(save_dir)
    if version is not None:
        run = run_folder(root, version)
        if not run.is_dir():
            return None
    else:
        runs = numbered_runs(root)
        if not runs:
            return None
        run = runs[-1]
    remove_partial_writes(run)
    return Resumption(run, version_of(run), newest_readable_checkpoint(run))


def last_written_run(logs: Path) -> Path | None:
    """The training run under `logs` (any experiment) holding the most recently modified file."""
    runs = {config.parent for config in logs.glob("*/*/config.yaml") if is_training_run(config.parent)}

    def last_write(run: Path) -> float:
        return max(p.stat().st_mtime for p in run.rglob("*") if p.is_file())

    return max(runs, key=last_write, default=None)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m litlab.resume", description=__doc__.split("\n\n")[0])
    parser.add_argument("--logs", type=Path, default=Path("logs"), help="folder holding <experiment>/<version>/")
    known, overrides = parser.parse_known_args(argv)
    run = last_written_run(known.logs)
    if run is None:
        sys.exit(f"litlab: error: no run with a config.yaml under {known.logs}/; nothing to resume.")
    print(f"litlab: resuming {run}", file=sys.stderr)
    from litlab.cli import main as litlab_main  # deferred: importing Lightning takes seconds

    version = ["--trainer.logger.init_args.version", str(version_of(run))]
    litlab_main(["fit", "--config", str(run / "config.yaml"), *version, "--ckpt_path", "last", *overrides])


if __name__ == "__main__":
    main()
