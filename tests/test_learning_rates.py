"""The learning rate is logged under one tag whatever the optimizer, so two runs' curves overlay."""

from pathlib import Path

import pytest

from conftest import accumulator, fast_synthetic_args
from litlab.callbacks.learning_rates import tag
from litlab.command.cli import main


@pytest.mark.parametrize(
    ("lightning", "ours"),
    [
        ("lr-SGD", "train/lr"),
        ("lr-AdamW/pg2", "train/lr/pg2"),
        ("lr-Adam/backbone", "train/lr/backbone"),
        ("lr-SGD-momentum", "train/momentum"),
        ("lr-SGD/pg1-weight_decay", "train/weight_decay/pg1"),
        ("lr-SGD-1", "train/lr-1"),
        ("my_scheduler", "my_scheduler"),
    ],
)
def test_lightning_tags_map_to_one_name_per_group(lightning: str, ours: str) -> None:
    assert tag(lightning) == ours


def test_sgd_and_adam_runs_log_the_same_learning_rate_tag(tmp_path: Path) -> None:
    """Two real runs, SGD without a scheduler and Adam with the demo's cosine: same tag, their own values."""
    optimizer, no_scheduler = "--model.init_args.optimizer", ["--model.init_args.scheduler", "null"]
    runs = {
        "sgd": [optimizer, "torch.optim.SGD", f"{optimizer}.init_args.lr", "0.05", *no_scheduler],
        "adam": [optimizer, "torch.optim.Adam", f"{optimizer}.init_args.lr", "0.002"],
    }
    logged = {}
    for name, args in runs.items():
        main(["fit", *fast_synthetic_args(tmp_path / name, epochs=2), *args, "--test_after_fit", "false"])
        (run,) = (tmp_path / name / "synthetic_mlp").glob("version_*")
        events = accumulator(run)
        assert not [t for t in events.Tags()["scalars"] if t.startswith("lr-")]
        logged[name] = [event.value for event in events.Scalars("train/lr")]
    assert logged["sgd"] == pytest.approx([0.05] * len(logged["sgd"]))
    assert logged["adam"][0] == pytest.approx(0.002) and logged["adam"][-1] < 0.002  # cosine annealing
