"""Export a checkpoint of a real (tiny) run and check the deployed model computes what the LightningModule does."""

import json
import runpy
import sys
from pathlib import Path

import pytest
import torch

from conftest import REPO, fast_synthetic_args
from litlab.checkpoints.export import FORMATS, describe, export, load_checkpoint
from litlab.command.cli import build_cli
from litlab.command.errors import LitlabError
from litlab.data import CIFAR10DataModule, SyntheticClassificationData
from litlab.data.cifar10 import CIFAR10_CLASSES, CIFAR10_MEAN, CIFAR10_STD
from litlab.models import ResNet9
from litlab.tasks import ClassificationTask

# float32 on CPU; the runtimes may fuse or reorder ops, which moves results by a few ulps.
TOL = {"atol": 1e-5, "rtol": 1e-5}
SCRIPT = REPO / "scripts" / "export.py"


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cli = build_cli(["fit", *fast_synthetic_args(tmp_path_factory.mktemp("logs"), epochs=1)])
    return Path(cli.trainer.log_dir) / "checkpoints" / "last.ckpt"


@pytest.fixture(scope="module")
def batch(ckpt: Path) -> torch.Tensor:
    _, datamodule = load_checkpoint(ckpt)
    datamodule.setup("test")
    return torch.stack([datamodule.test_set[i][0] for i in range(64)])


def needs_runtime(format: str) -> None:
    if format == "onnx":
        for package in ("onnxruntime", "onnxscript"):
            pytest.importorskip(package, reason=f"ONNX export is optional: pip install 'litlab[export]' ({package})")


def run_exported(path: Path, x: torch.Tensor) -> torch.Tensor:
    if path.suffix == ".onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return torch.from_numpy(session.run(None, {"input": x.numpy()})[0])
    model = torch.export.load(path).module() if path.suffix == ".pt2" else torch.jit.load(path)
    with torch.no_grad():
        return model(x)


@pytest.mark.parametrize("format", list(FORMATS))
def test_export_matches_module_in_eval_mode(ckpt: Path, batch: torch.Tensor, tmp_path: Path, format: str) -> None:
    needs_runtime(format)
    model_path, sidecar_path = export(ckpt, format, tmp_path)
    assert model_path.parent == tmp_path and sidecar_path.name == model_path.name + ".json"
    module, _ = load_checkpoint(ckpt)
    assert not module.training
    with torch.no_grad():
        expected = module(batch)
    for x, want in ((batch, expected), (batch[:1], expected[:1])):  # the batch dimension is dynamic
        torch.testing.assert_close(run_exported(model_path, x), want, **TOL)


@pytest.mark.parametrize("format", list(FORMATS))
def test_formats_handle_batchnorm_and_residuals(tmp_path: Path, format: str) -> None:
    needs_runtime(format)
    model = ResNet9((3, 16, 16), 10, width=4).eval()
    suffix, write, _ = FORMATS[format]
    path = tmp_path / f"resnet9{suffix}"
    write(model, torch.randn(2, 3, 16, 16), path)
    x = torch.randn(5, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(run_exported(path, x), model(x), **TOL)


def test_sidecar_describes_classes_shapes_and_source(ckpt: Path, tmp_path: Path) -> None:
    model_path, sidecar_path = export(ckpt, "torchscript", tmp_path)
    sidecar = json.loads(sidecar_path.read_text())
    assert sidecar["model_file"] == model_path.name and sidecar["format"] == "torchscript"
    assert sidecar["class_names"] == SyntheticClassificationData(num_classes=10).class_names
    assert sidecar["num_classes"] == 10 and sidecar["input_shape"] == [64]
    assert sidecar["mean"] is None and sidecar["std"] is None  # synthetic features are used as they are
    assert sidecar["backbone"] == "litlab.models.mlp.MLP"
    assert Path(sidecar["source_checkpoint"]) == ckpt.resolve()
    assert sidecar["global_step"] == torch.load(ckpt, weights_only=True)["global_step"] > 0
    assert sidecar["versions"]["torch"] == torch.__version__


def test_image_sidecar_takes_normalization_from_the_data_module_without_reading_data(tmp_path: Path) -> None:
    task = ClassificationTask(lambda shape, n: ResNet9(shape, n, width=4), num_classes=10, input_shape=(3, 32, 32))
    data_dir = tmp_path / "cifar"
    info = describe(task, CIFAR10DataModule(data_dir=data_dir))
    assert info["mean"] == list(CIFAR10_MEAN) and info["std"] == list(CIFAR10_STD)
    assert info["class_names"] == CIFAR10_CLASSES and info["input_shape"] == [3, 32, 32]
    assert not data_dir.exists()


def test_bad_paths_give_a_clear_error(tmp_path: Path, ckpt: Path) -> None:
    with pytest.raises(LitlabError, match="does not exist"):
        export(tmp_path / "missing.ckpt")
    (tmp_path / "notes.ckpt").write_text("not a checkpoint")
    with pytest.raises(LitlabError, match="is not a readable checkpoint"):
        export(tmp_path / "notes.ckpt")
    torch.save({"state_dict": {}}, tmp_path / "plain.ckpt")
    with pytest.raises(LitlabError, match="not written by `litlab fit`"):
        export(tmp_path / "plain.ckpt")
    with pytest.raises(LitlabError, match="unknown export format"):
        export(ckpt, "tflite")


def test_script_exports(ckpt: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    argv = ["export.py", "--ckpt_path", str(ckpt), "--format", "pt2", "--out", str(tmp_path)]
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(str(SCRIPT), run_name="__main__")
    assert (tmp_path / "last.pt2").is_file() and (tmp_path / "last.pt2.json").is_file()
    assert str(tmp_path / "last.pt2") in capsys.readouterr().out


def test_script_exits_with_the_message_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["export.py", "--ckpt_path", str(tmp_path / "nope.ckpt")])
    with pytest.raises(SystemExit) as exit_info:  # sys.exit(message): printed to stderr, exit status 1
        runpy.run_path(str(SCRIPT), run_name="__main__")
    assert exit_info.value.code == f"export: error: checkpoint {tmp_path / 'nope.ckpt'} does not exist."
