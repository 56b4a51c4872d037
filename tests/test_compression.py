"""Pruning reaches its target in a real run; int8 quantization keeps the MLP's predictions and shrinks it."""

from pathlib import Path

import lightning as L
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch import nn

from conftest import CONFIGS, fast_synthetic_args
from litlab.callbacks import GradualPruning
from litlab.checkpoints.export import load_checkpoint
from litlab.command.cli import build_cli
from litlab.compression import (
    cpu_latency_ms,
    evaluate_on_test,
    prune_global_l1,
    quantize_dynamic_int8,
    sparsity,
    state_dict_bytes,
)
from litlab.compression.report import pruning_report, quantization_report
from litlab.models import ResNet9
from litlab.tasks import ClassificationTask

FINAL_SPARSITY = 0.9  # configs/synthetic_mlp_pruned.yaml
MIN_AGREEMENT = 0.95  # int8 vs float32 argmax agreement on the synthetic test split


@pytest.fixture(scope="module")
def pruned_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """configs/synthetic_mlp_pruned.yaml as it is (8 epochs, pruning in 0-5), on 512 training samples."""
    args = fast_synthetic_args(tmp_path_factory.mktemp("logs"), epochs=8)
    args[args.index("--config") + 1] = str(CONFIGS / "synthetic_mlp_pruned.yaml")
    cli = build_cli(["fit", *args])
    return Path(cli.trainer.log_dir)


@pytest.fixture(scope="module")
def dense_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cli = build_cli(["fit", *fast_synthetic_args(tmp_path_factory.mktemp("logs"), epochs=2)])
    return Path(cli.trainer.log_dir) / "checkpoints" / "last.ckpt"


def test_schedule_amounts_compound_to_the_final_sparsity() -> None:
    callback = GradualPruning(final_sparsity=0.8, epochs=4, start_epoch=1)
    amounts = [callback.amount_at(epoch) for epoch in range(8)]
    assert amounts[0] == 0 and amounts[5:] == [0, 0, 0]
    remaining = torch.tensor([1 - a for a in amounts], dtype=torch.float64).prod().item()
    assert remaining == pytest.approx(0.2, abs=1e-12)  # each call prunes a fraction of what is left
    targets = [callback.target(epoch) for epoch in range(8)]
    assert targets == sorted(targets) and targets[4] == pytest.approx(0.8)


def test_only_linear_and_conv_weights_are_pruned() -> None:
    task = ClassificationTask(lambda shape, n: ResNet9(shape, n, width=4), num_classes=10, input_shape=(3, 16, 16))
    callback = GradualPruning(final_sparsity=0.5, epochs=1)
    with pytest.warns(UserWarning, match="no checkpoint will hold the final sparsity"):
        callback.setup(L.Trainer(max_epochs=1, logger=False), task, "fit")
    pruned = {type(module) for module, _ in callback._parameters_to_prune}
    assert pruned == {nn.Conv2d, nn.Linear}
    assert {name for _, name in callback._parameters_to_prune} == {"weight"}


@pytest.mark.slow  # trains the pruned config; CI runs it (.ci/run)
def test_pruned_checkpoint_holds_plain_weights_at_the_target_sparsity(pruned_run: Path) -> None:
    state = torch.load(pruned_run / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    assert not [key for key in state if key.endswith(("_orig", "_mask"))]
    weights = [value for key, value in state.items() if key.startswith("backbone.") and key.endswith(".weight")]
    zeros = sum(int((w == 0).sum()) for w in weights)
    total = sum(w.numel() for w in weights)
    assert zeros / total == pytest.approx(FINAL_SPARSITY, abs=1e-3)  # rounding: at most a weight per step
    events = EventAccumulator(str(pruned_run), size_guidance={"scalars": 0})
    events.Reload()
    logged = [event.value for event in events.Scalars("prune/sparsity")]
    assert len(logged) == 8 and logged == sorted(logged)
    assert logged[0] > 0 and logged[-1] == pytest.approx(zeros / total)


@pytest.mark.slow  # trains the pruned config; CI runs it (.ci/run)
def test_pruning_report_measures_what_the_checkpoints_hold(pruned_run: Path, dense_ckpt: Path) -> None:
    pruned_ckpt = pruned_run / "checkpoints" / "last.ckpt"
    report = pruning_report(dense_ckpt, pruned_ckpt, one_shot=0.5)
    module, datamodule = load_checkpoint(pruned_ckpt)
    accuracy = evaluate_on_test(module, datamodule)["test/acc"]
    rows = [line for line in report.splitlines() if line.startswith("| pruned during training")]
    assert f"| {sparsity(module.backbone)['global']:.1%} |" in rows[0] and f"| {accuracy:.4f} |" in rows[0]
    assert "| dense, one-shot L1 50% after training | 50.0% |" in report


def test_one_shot_pruning_is_global_and_permanent() -> None:
    model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 4))
    prune_global_l1(model, 0.75)
    stats = sparsity(model)
    assert stats["global"] == pytest.approx(0.75, abs=1e-3)
    assert stats["0"] != stats["2"]  # one threshold over all layers, not 75% of each
    assert {name for name, _ in model.named_parameters()} == {"0.weight", "0.bias", "2.weight", "2.bias"}


def test_int8_mlp_agrees_with_float_and_is_smaller(dense_ckpt: Path) -> None:
    module, datamodule = load_checkpoint(dense_ckpt)
    datamodule.setup("test")
    x = torch.stack([sample for sample, _ in datamodule.test_set])
    quantized = quantize_dynamic_int8(module.backbone)
    assert not any(type(m) is nn.Linear for m in quantized.modules())
    with torch.no_grad():
        agreement = (quantized(x).argmax(1) == module.backbone(x).argmax(1)).float().mean().item()
    assert agreement >= MIN_AGREEMENT
    assert state_dict_bytes(quantized) < 0.35 * state_dict_bytes(module.backbone)  # int8 weights: ~1/4 of float32
    assert cpu_latency_ms(quantized, x[:32], runs=3, warmup=1) > 0


def test_quantization_report_table(dense_ckpt: Path) -> None:
    report = quantization_report(dense_ckpt, threads=1, runs=3, batch_size=64)
    float_row, int8_row = (line.split(" | ") for line in report.splitlines()[2:4])
    assert float_row[0] == "| float32" and int8_row[0] == "| int8 dynamic (Linear)"
    assert float(int8_row[1]) < float(float_row[1])
    assert abs(float(int8_row[3].rstrip(" |")) - float(float_row[3].rstrip(" |"))) < 0.05
    assert "torch.set_num_threads(1)" in report
