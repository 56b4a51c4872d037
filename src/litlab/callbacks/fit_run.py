"""Find the training run a tested checkpoint came from, and give that run its test metrics.

`litlab fit` tests at its end, and `litlab test --ckpt_path <run>/checkpoints/...` logs into `<run>`, so
test metrics normally land in the training run itself. When a test logs elsewhere (another logger
configuration), comparing runs in the HParams tab still needs the test metrics on the *training* run's
row, next to its hyperparameters and validation metrics, so they are also written there, as scalars in a
second events file.
"""

from collections.abc import Mapping
from pathlib import Path

from torch.utils.tensorboard import SummaryWriter

from litlab.checkpoints.io import read_checkpoint
from litlab.command.errors import CheckpointError
from litlab.runs.folders import is_training_run


def fit_run_of(ckpt_path: str | Path | None) -> Path | None:
    """`<run>/checkpoints/x.ckpt` -> `<run>` if `<run>` is a training run (`litlab.runs.folders` decides from its
    config.yaml; a folder without one counts when it holds TensorBoard events)."""
    if not ckpt_path:
        return None
    ckpt = Path(ckpt_path).resolve()
    run = ckpt.parent.parent
    if ckpt.parent.name != "checkpoints":
        return None
    training = is_training_run(run)
    return run if training or (training is None and any(run.glob("events.out.tfevents.*"))) else None


def checkpoint_step(ckpt_path: str | Path) -> int:
    """The global step a Lightning checkpoint was saved at; memory-mapped, so the weights are not read."""
    try:
        checkpoint = read_checkpoint(ckpt_path, mmap=True)
    except CheckpointError:  # the test itself reports an unusable checkpoint; here it only means "no step"
        return 0
    return int(checkpoint.get("global_step", 0))


def write_test_metrics(run: Path, metrics: Mapping[str, float], step: int) -> None:
    """Append `metrics` to `run` as scalars at `step`, in a new events file beside the run's own."""
    with SummaryWriter(log_dir=str(run)) as writer:
        for tag, value in metrics.items():
            writer.add_scalar(tag, value, global_step=step)
