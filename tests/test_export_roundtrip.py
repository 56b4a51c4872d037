"""An exported model fed as its sidecar says scores what `litlab test` scored, for every shipped data module.

The sidecar once said `"mean": null` for an image folder whose statistics the data module had measured, and the
exported model, fed [0, 1] pixels as told, was wrong on most images. Here each data module trains a tiny model
(`litlab fit` ends with `litlab test`), the tested checkpoint is exported, and the raw test inputs (the PNG
files, the CIFAR pickle, the synthetic features) go through the sidecar's preprocessing steps written out in
numpy, then through the exported model: its accuracy must be `litlab test`'s and its logits the task's.
"""

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import CONFIGS, fast_synthetic_args, write_image_folder
from litlab.checkpoints.export import export, load_checkpoint
from litlab.command.cli import main
from litlab.command.errors import CheckpointError
from litlab.data.preprocessing import STATE_KEY

SPEEDY = ["--trainer.max_epochs", "2", "--trainer.enable_progress_bar", "false", "--trainer.accelerator", "cpu"]


def fit(args: list[str], logs: Path) -> tuple[Path, dict]:
    """Train and test; return the tested checkpoint and the test metrics `litlab test` wrote."""
    main(["fit", *args, "--trainer.logger.init_args.save_dir", str(logs)])
    (report_path,) = logs.glob("*/version_0/test_metrics.json")
    report = json.loads(report_path.read_text())
    return Path(report["ckpt_path"]), report


def sidecar_prepare(raw: np.ndarray, preprocessing: dict) -> np.ndarray:
    """The sidecar's steps for images already decoded as (N, C, H, W) uint8 at the model's size."""
    if preprocessing["kind"] != "image":
        return raw.astype(np.float32)
    assert list(raw.shape[-2:]) == preprocessing["image_size"]
    mean = np.asarray(preprocessing["mean"], dtype=np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(preprocessing["std"], dtype=np.float32).reshape(1, -1, 1, 1)
    return (raw.astype(np.float32) / 255 - mean) / std


def raw_synthetic(ckpt: Path, _: Path) -> tuple[np.ndarray, np.ndarray]:
    _, data = load_checkpoint(ckpt)
    data.setup("test")
    features, labels = data.test_set.tensors
    return features.numpy(), labels.numpy()


def raw_image_folder(_: Path, root: Path) -> tuple[np.ndarray, np.ndarray]:
    classes = sorted(p.name for p in (root / "test").iterdir())
    files = sorted((root / "test").rglob("*.png"))
    images = np.stack([np.asarray(Image.open(f).convert("RGB")).transpose(2, 0, 1) for f in files])
    return images, np.array([classes.index(f.parent.name) for f in files])


def raw_cifar10(_: Path, root: Path) -> tuple[np.ndarray, np.ndarray]:
    batch = pickle.loads((root / "cifar-10-batches-py" / "test_batch").read_bytes())
    return np.asarray(batch["data"]).reshape(-1, 3, 32, 32), np.asarray(batch["labels"])


def train(kind: str, tmp_path: Path, request: pytest.FixtureRequest | None) -> tuple[Path, dict, Path]:
    if kind == "synthetic":
        ckpt, report = fit(fast_synthetic_args(tmp_path / "logs", epochs=1), tmp_path / "logs")
        return ckpt, report, tmp_path
    if kind == "image_folder":
        root = write_image_folder(tmp_path / "images", {"train": 10, "test": 4}, classes=("ant", "bee", "cat"))
        config = ["--config", str(CONFIGS / "cifar10_jpg_cnn.yaml"), "--data.init_args.root", str(root)]
        config += ["--data.init_args.augment", "false"]  # 8x8 images: the shipped crop padding is refused
    else:
        root = request.getfixturevalue("fake_cifar10")
        config = ["--config", str(CONFIGS / "cifar10_simple_cnn.yaml"), "--data.init_args.data_dir", str(root)]
        config += ["--data.init_args.val_size", "20"]
    config += ["--model.init_args.backbone", "litlab.models.SimpleCNN", "--data.init_args.batch_size", "8"]
    ckpt, report = fit([*config, "--data.init_args.num_workers", "0", *SPEEDY], tmp_path / "logs")
    return ckpt, report, root


@pytest.fixture(scope="module")
def image_folder_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, Path]:
    """One image-folder run for the round trip and the refusal below."""
    return train("image_folder", tmp_path_factory.mktemp("image_folder"), None)


@pytest.mark.parametrize("kind", ["synthetic", "image_folder", pytest.param("cifar10", marks=pytest.mark.slow)])
def test_exported_model_with_the_sidecars_preprocessing_scores_as_litlab_test(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    trained = request.getfixturevalue("image_folder_run") if kind == "image_folder" else None
    ckpt, report, root = trained or train(kind, tmp_path, request)
    model_path, sidecar_path = export(ckpt, "torchscript", tmp_path / "export")
    sidecar = json.loads(sidecar_path.read_text())
    raw, labels = {"synthetic": raw_synthetic, "image_folder": raw_image_folder, "cifar10": raw_cifar10}[kind](
        ckpt, root
    )
    assert len(labels) == report["num_samples"]  # litlab test saw every one of these inputs
    x = torch.from_numpy(sidecar_prepare(raw, sidecar["preprocessing"]))
    with torch.no_grad():
        logits = torch.jit.load(model_path)(x)
    accuracy = float((logits.argmax(1).numpy() == labels).mean())
    assert accuracy == pytest.approx(report["metrics"]["test/acc"], abs=1 / len(labels) + 1e-6)
    module, data = load_checkpoint(ckpt)  # the task on its own data module's test inputs: the same logits
    data.setup("test")
    inputs = torch.stack([data.test_set[i][0] for i in range(len(data.test_set))])
    with torch.no_grad():
        torch.testing.assert_close(logits, module(inputs), atol=1e-4, rtol=1e-4)


def test_export_refuses_a_sidecar_without_the_measured_statistics(
    tmp_path: Path, image_folder_run: tuple[Path, dict, Path]
) -> None:
    ckpt, _, _ = image_folder_run
    checkpoint = torch.load(ckpt, weights_only=True)
    (record,) = [v[STATE_KEY] for v in checkpoint.values() if isinstance(v, dict) and STATE_KEY in v]
    assert record["mean"] is not None and record["std"] is not None and record["class_names"] == ["ant", "bee", "cat"]
    for key in [k for k, v in checkpoint.items() if isinstance(v, dict) and STATE_KEY in v]:
        del checkpoint[key]  # as a checkpoint from before the record existed
    old = tmp_path / "old.ckpt"
    torch.save(checkpoint, old)
    with pytest.raises(CheckpointError, match="does not record the normalization"):
        export(old, "torchscript", tmp_path / "export")
    assert not (tmp_path / "export").exists()
