"""`litlab predict`, `validate` and `test` of a finished synthetic run: quiet, into the run folder, the numbers
right; a checkpoint written on a GPU predicts and exports on a CPU; regression predictions list their values."""

import sys
from pathlib import Path
from subprocess import PIPE, STDOUT, Popen

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import CONFIGS, fast_synthetic_args, read_csv_rows
from litlab.checkpoints.export import export, load_checkpoint
from litlab.command.cli import main

NOISE = ("warning", "deprecat", "dirpath has changed", "traceback")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    logs = tmp_path_factory.mktemp("logs")
    main(["fit", *fast_synthetic_args(logs, epochs=1), "--test_after_fit", "false"])
    (run,) = (logs / "synthetic_mlp").iterdir()
    return run


def expected(ckpt: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax of the checkpoint's model on the synthetic test features, and their labels."""
    module, data = load_checkpoint(ckpt)
    data.setup("test")
    features, labels = data.test_set.tensors
    with torch.no_grad():
        return module(features).softmax(-1), labels


@pytest.mark.slow  # three litlab processes: CI runs it (.ci/run)
def test_predict_validate_and_test_are_quiet_and_leave_no_empty_run(run: Path) -> None:
    ckpt = run / "checkpoints" / "last.ckpt"
    commands = {
        name: [sys.executable, "-m", "litlab", name, "--config", str(run / "config.yaml"), "--ckpt_path", str(ckpt)]
        for name in ("predict", "validate", "test")
    }
    started = {name: Popen(c, stdout=PIPE, stderr=STDOUT, text=True) for name, c in commands.items()}
    for name, process in started.items():  # all at once: each takes most of its time starting up
        output = process.communicate(timeout=300)[0]
        assert process.returncode == 0, output
        assert not [word for word in NOISE if word in output.lower()], f"{name}:\n{output}"
        if name == "predict":
            assert f"Predictions for 256 inputs written to {run / 'predictions.csv'}" in output
            assert "Predicted classes: class_" in output
    (validated,) = [p for p in run.parent.iterdir() if p != run]  # predict and test opened no run of their own
    events = EventAccumulator(str(validated))
    events.Reload()
    assert "val/acc" in events.Tags()["scalars"]  # validate's own run holds its metrics: not an empty folder

    rows = read_csv_rows(run / "predictions.csv")
    probabilities, labels = expected(ckpt)
    top = probabilities.topk(3, dim=1)
    assert [int(r["index"]) for r in rows] == list(range(256)) and "input" not in rows[0]
    assert [r["label"] for r in rows] == [f"class_{i}" for i in labels.tolist()]
    assert [r["predicted"] for r in rows] == [f"class_{i}" for i in top.indices[:, 0].tolist()]
    assert [r["top3"] for r in rows] == [f"class_{i}" for i in top.indices[:, 2].tolist()]
    written = torch.tensor([float(r["probability"]) for r in rows])
    torch.testing.assert_close(written, top.values[:, 0], atol=1e-6, rtol=0)


def save_as_on_a_gpu(checkpoint: dict, path: Path) -> None:
    """`torch.save` with every storage tagged cuda:0, as a GPU run writes it (a plain load needs CUDA then)."""
    torch.serialization.register_package(0, lambda s: "cuda:0" if s.device.type == "cpu" else None, lambda s, loc: None)
    try:
        torch.save(checkpoint, path)
    finally:
        del torch.serialization._package_registry[0]


def test_a_checkpoint_saved_on_a_gpu_predicts_and_exports_on_a_cpu(run: Path, tmp_path: Path) -> None:
    ckpt = run / "checkpoints" / "last.ckpt"
    gpu_ckpt = run / "checkpoints" / "on_gpu.ckpt"
    save_as_on_a_gpu(torch.load(ckpt, weights_only=True), gpu_ckpt)
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(gpu_ckpt, weights_only=True)  # what every unmapped read would hit
    main(["predict", "--config", str(run / "config.yaml"), "--ckpt_path", str(gpu_ckpt), "--output", str(tmp_path),
          "--trainer.accelerator", "cpu", "--trainer.enable_progress_bar", "false"])  # fmt: skip
    probabilities, _ = expected(ckpt)
    rows = read_csv_rows(tmp_path / "predictions.csv")
    torch.testing.assert_close(
        torch.tensor([float(r["probability"]) for r in rows]), probabilities.max(1).values, atol=1e-6, rtol=0
    )
    model_path, _ = export(gpu_ckpt, "torchscript", tmp_path)
    assert model_path.is_file()
    gpu_ckpt.unlink()


def test_regression_predictions_list_values_and_targets(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    main(["fit", "--config", str(CONFIGS / "synthetic_regression.yaml"), "--trainer.max_epochs", "1",
          "--data.init_args.sizes", "[256, 64, 64]", "--trainer.enable_progress_bar", "false",
          "--test_after_fit", "false", "--trainer.logger.init_args.save_dir", str(logs)])  # fmt: skip
    (run,) = logs.glob("*/version_0")
    ckpt = run / "checkpoints" / "last.ckpt"
    main(["predict", "--config", str(run / "config.yaml"), "--ckpt_path", str(ckpt),
          "--trainer.enable_progress_bar", "false"])  # fmt: skip
    rows = read_csv_rows(run / "predictions.csv")
    module, data = load_checkpoint(ckpt)
    data.setup("test")
    features, targets = data.test_set.tensors
    with torch.no_grad():
        values = module(features)
    assert list(rows[0]) == ["index", "label", "prediction"] and len(rows) == 64
    torch.testing.assert_close(torch.tensor([float(r["prediction"]) for r in rows]), values[:, 0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(torch.tensor([float(r["label"]) for r in rows]), targets[:, 0], atol=1e-5, rtol=1e-5)
