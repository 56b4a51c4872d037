"""Synthetic data is deterministic from its seed and learnable; the demo config proves it end to end."""

from pathlib import Path

import pytest
import torch

from conftest import CONFIGS
from litlab.command.cli import build_cli
from litlab.data import SyntheticClassificationData, SyntheticRegressionData


def tensors(module, split: str) -> list[torch.Tensor]:
    module.setup("fit")
    return list(getattr(module, f"{split}_set").tensors)


def test_same_seed_same_data_other_seed_other_data() -> None:
    a, b = (tensors(SyntheticClassificationData(seed=1, sizes=(64, 32, 32)), "train") for _ in range(2))
    c = tensors(SyntheticClassificationData(seed=2, sizes=(64, 32, 32)), "train")
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0], c[0])


def test_splits_differ_and_have_requested_sizes() -> None:
    module = SyntheticClassificationData(num_classes=4, input_shape=(3, 8, 8), sizes=(40, 20, 10))
    module.setup()
    assert [len(s) for s in (module.train_set, module.val_set, module.test_set)] == [40, 20, 10]
    x, y = module.train_set.tensors
    assert x.shape == (40, 3, 8, 8) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert not torch.equal(module.train_set.tensors[0][:10], module.val_set.tensors[0][:10])
    assert set(y.tolist()) == {0, 1, 2, 3}


def test_nearest_prototype_beats_chance() -> None:
    """The labels carry signal: the Bayes-like nearest-prototype rule is far above 1/num_classes."""
    module = SyntheticClassificationData(num_classes=10, input_shape=(64,), noise=3.0, sizes=(10, 10, 2000))
    module.setup()
    x, y = module.test_set.tensors
    nearest = torch.cdist(x, module.prototypes).argmin(dim=1)
    assert (nearest == y).float().mean() > 0.8


def test_regression_targets_depend_on_inputs() -> None:
    module = SyntheticRegressionData(num_outputs=2, input_shape=(16,), noise=0.1, sizes=(2000, 10, 10))
    module.setup()
    x, y = module.train_set.tensors
    assert y.shape == (2000, 2)
    clean = torch.tanh(2 * x @ module.weight)
    assert torch.allclose((y - clean).std(), torch.tensor(0.1), atol=0.01)


@pytest.mark.slow  # trains a shipped config in full; CI runs it (.ci/run)
def test_demo_config_learns_well_above_chance(in_tmp: Path) -> None:
    """`make demo` as shipped: the MLP reaches at least 75% validation accuracy on 10 classes (chance: 10%)."""
    cli = build_cli(["fit", "--config", str(CONFIGS / "synthetic_mlp.yaml"), "--trainer.enable_progress_bar", "false"])
    assert cli.trainer.callback_metrics["val/acc_best"] >= 0.75
    run_dir = Path(cli.trainer.log_dir).resolve()
    assert run_dir.is_relative_to(in_tmp / "logs" / "synthetic_mlp")
    assert {"config.yaml", "hparams.yaml"} <= {p.name for p in run_dir.iterdir()}
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert list(run_dir.glob("events.out.tfevents.*"))


@pytest.mark.slow  # trains a shipped config in full; CI runs it (.ci/run)
def test_regression_config_fits(in_tmp: Path) -> None:
    cli = build_cli(
        ["fit", "--config", str(CONFIGS / "synthetic_regression.yaml"), "--trainer.enable_progress_bar", "false"]
    )
    metrics = cli.trainer.callback_metrics
    assert metrics["val/r2"] > 0.9
    assert metrics["val/mae"] < 0.2
