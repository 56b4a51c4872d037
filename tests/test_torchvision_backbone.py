"""torchvision models as backbones: classes and channels from the data, weights only from a local file."""

from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn

from conftest import fast_synthetic_args
from litlab.command.cli import build_cli
from litlab.command.errors import LitlabError
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
