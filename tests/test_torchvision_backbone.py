"""torchvision models as backbones: classes and channels from the data, weights only from a local file."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torchvision
import yaml
from torch import nn

from conftest import fast_synthetic_args, write_image_folder
from litlab.command.cli import build_cli
from litlab.command.errors import ConfigError, LitlabError
from litlab.models import TorchvisionBackbone
from litlab.models.torchvision_backbone import build_backbone


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Any attempt to fetch weights fails the test (and torch's cache is an empty folder)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small", "efficientnet_b0", "vgg11"])
def test_builders_get_classes_and_channels_from_the_data(name: str) -> None:
    model = build_backbone(torchvision.models.get_model_builder(name), (1, 32, 32), 7)
    first = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    assert first.in_channels == 1
    assert model(torch.randn(2, 1, 32, 32)).shape == (2, 7)


def test_a_yaml_run_trains_torchvision_resnet18_on_gray_images(tmp_path: Path) -> None:
    cli = build_cli(["fit", *fast_synthetic_args(tmp_path / "logs", epochs=1), "--model.init_args.backbone",
                     "torchvision.models.resnet18", "--data.init_args.input_shape", "[1, 16, 16]",
                     "--data.init_args.sizes", "[128, 64, 64]", "--trainer.callbacks", "[]"])  # fmt: skip
    model = cli.model.backbone.model
    assert isinstance(model, torchvision.models.ResNet)
    assert model.conv1.in_channels == 1 and model.fc.out_features == 10
    assert cli.trainer.global_step == 1 and "test/acc" in cli.trainer.callback_metrics
    assert not (tmp_path / "torch_home").exists()


def test_local_weights_are_loaded_head_replaced_and_rgb_filters_summed_for_gray(tmp_path: Path) -> None:
    reference = torchvision.models.resnet18(weights=None)
    torch.save(reference.state_dict(), tmp_path / "resnet18.pth")
    model = TorchvisionBackbone((1, 32, 32), 5, name="resnet18", weights_path=tmp_path / "resnet18.pth").model
    torch.testing.assert_close(model.conv1.weight, reference.conv1.weight.sum(dim=1, keepdim=True))
    torch.testing.assert_close(model.layer4[1].conv2.weight, reference.layer4[1].conv2.weight)
    assert model.fc.out_features == 5
    gray = torch.rand(2, 1, 32, 32)
    model.fc, reference.fc = nn.Identity(), nn.Identity()
    torch.testing.assert_close(model.eval()(gray), reference.eval()(gray.expand(-1, 3, -1, -1)))


def test_a_missing_weights_file_or_model_name_is_explained(tmp_path: Path) -> None:
    with pytest.raises(LitlabError, match="no weights file"):
        TorchvisionBackbone((3, 32, 32), 10, weights_path=tmp_path / "absent.pth")
    with pytest.raises(LitlabError, match="no model 'resnet19'"):
        TorchvisionBackbone((3, 32, 32), 10, name="resnet19")


def gray_image_folder(root: Path, size: int = 16) -> Path:
    """write_image_folder's tree, every image stored as one-channel grayscale."""
    from PIL import Image

    write_image_folder(root, {"train": 8, "val": 4, "test": 4}, classes=("a", "b"), size=size)
    for path in root.rglob("*.png"):
        Image.open(path).convert("L").save(path)
    return root


def litlab(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TORCH_HOME": str(cwd / "torch_home")}
    return subprocess.run([sys.executable, "-m", "litlab", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def backbone_config(tmp_path: Path, backbone: dict) -> Path:
    config = {
        "trainer": {"max_epochs": 1, "accelerator": "cpu", "enable_progress_bar": False,
                    "logger": {"init_args": {"save_dir": str(tmp_path / "logs"), "name": "tv"}}},
        "model": {"class_path": "litlab.tasks.ClassificationTask", "init_args": {"backbone": backbone}},
        "data": {"class_path": "litlab.data.ImageFolderDataModule",
                 "init_args": {"root": str(gray_image_folder(tmp_path / "images")), "batch_size": 8,
                               "num_workers": 0}},
    }  # fmt: skip
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.slow  # two litlab processes with a ResNet-18: CI runs it (.ci/run)
def test_class_path_torchvision_resnet18_fits_a_gray_image_folder_from_yaml(tmp_path: Path) -> None:
    spec = {"class_path": "torchvision.models.resnet18", "init_args": {"zero_init_residual": True}}
    result = litlab(["fit", "--config", str(backbone_config(tmp_path, spec))], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = (tmp_path / "logs" / "tv").iterdir()
    saved = yaml.safe_load((run / "config.yaml").read_text())["model"]["init_args"]["backbone"]
    assert saved["class_path"] == "litlab.models.TorchvisionBackbone"
    assert saved["init_args"]["name"] == "resnet18"
    assert saved["init_args"]["model_kwargs"] == {"zero_init_residual": True}  # the user's option, nothing else
    state = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["state_dict"]
    assert state["backbone.model.conv1.weight"].shape == (64, 1, 7, 7)  # one channel, as the images
    assert state["backbone.model.fc.weight"].shape == (2, 512)  # two classes, as the folders
    assert not (tmp_path / "torch_home").exists()
    tested = litlab(["test", "--config", str(run / "config.yaml"), "--ckpt_path", str(run / "checkpoints" /
                     "last.ckpt")], tmp_path)  # fmt: skip
    assert tested.returncode == 0, tested.stderr[-3000:]


@pytest.mark.slow  # a litlab process; the in-process refusal below stays in `make test`: CI runs it (.ci/run)
def test_torchvision_weights_by_class_path_are_refused_with_what_to_write_instead(tmp_path: Path) -> None:
    spec = {"class_path": "torchvision.models.resnet18", "init_args": {"weights": "IMAGENET1K_V1"}}
    result = litlab(["fit", "--config", str(backbone_config(tmp_path, spec))], tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "class_path: litlab.models.TorchvisionBackbone" in result.stderr and "weights_path" in result.stderr
    assert not (tmp_path / "torch_home").exists() and not (tmp_path / "logs").exists()


def test_num_classes_by_class_path_is_refused_since_the_data_sets_it(tmp_path: Path) -> None:
    spec = {"class_path": "torchvision.models.mobilenet_v3_small", "init_args": {"num_classes": 7}}
    with pytest.raises(ConfigError, match="remove num_classes=7; litlab sets it from the data"):
        build_cli(["fit", "--config", str(backbone_config(tmp_path, spec))])
