"""What `--ckpt_path last` and `make resume` continue: an experiment's newest run and its newest readable checkpoint.

Lightning's own `ckpt_path="last"` looks in the checkpoint folder of the run it is about to *create*, which
is empty, so the CLI resolves "last" before anything is instantiated. It picks the training run
`<save_dir>/<name>/version_<N>` with the highest N (or the version the config names; folders of `litlab
test` runs of the experiment are passed over), sets the logger's `version` to it so TensorBoard keeps one
run, and picks that run's checkpoint with the highest global step that loads (`last.ckpt` wins ties).
Unreadable checkpoints are skipped with a warning; temp files left by a write that was killed are removed.

`make resume` (`litlab.command.resume`) continues the run under logs/ written to most recently.
"""

from dataclasses import dataclass
from pathlib import Path

from lightning.pytorch.utilities import rank_zero_info, rank_zero_only, rank_zero_warn

from litlab.checkpoints.io import is_temp_file, read_checkpoint
from litlab.command.errors import CheckpointError
from litlab.runs.folders import numbered_runs, run_folder, version_of


@dataclass(frozen=True)
class Resumption:
    """Where a resumed run continues: its folder, the logger version naming it, and the checkpoint (or None)."""

    run: Path
    version: int | str
    checkpoint: Path | None


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

    A step checkpoint written at an epoch's last batch is never chosen (see `stops_before_epoch_end`): resuming
    from the one before it trains those steps again, and the run stays exact. With no other, training starts over.
    """
    ranked = []
    for path in checkpoint_files(run):
        try:
            checkpoint = read_checkpoint(path, mmap=True)
        except CheckpointError as error:  # not usable; the warning says why
            rank_zero_warn(f"{error} Skipped it.")
            continue
        if stops_before_epoch_end(checkpoint):
            rank_zero_info(f"Passed over {path.name}: written between an epoch's last batch and its end.")
            continue
        step = int(checkpoint.get("global_step", -1))
        ranked.append((step, path.stem.startswith("last"), path.stat().st_mtime, path))
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


def finished_training(checkpoint: Path, max_epochs: int | None, max_steps: int | None = -1) -> str | None:
    """Why resuming `checkpoint` would train nothing (its run already reached `max_epochs` or `max_steps`), as a
    sentence ending in what to do; None when there is training left."""
    state = read_checkpoint(checkpoint, mmap=True)
    epochs = state.get("loops", {}).get("fit_loop", {}).get("epoch_progress", {}).get("current", {}).get("processed", 0)
    steps = int(state.get("global_step", 0))
    if isinstance(max_epochs, int) and max_epochs > 0 and epochs >= max_epochs:
        reached, option, more = f"all {max_epochs} epochs", "max_epochs", max_epochs * 2
    elif isinstance(max_steps, int) and max_steps > 0 and steps >= max_steps:
        reached, option, more = f"all {max_steps} steps", "max_steps", max_steps * 2
    else:
        return None
    return (
        f"{checkpoint.parent.parent} already finished: {checkpoint.name} has trained {reached} "
        f"(trainer.{option}); nothing to resume. To train it further, raise it: --trainer.{option} {more} "
        f"(make resume ARGS='--trainer.{option} {more}'). `litlab test` evaluates it as it is."
    )
