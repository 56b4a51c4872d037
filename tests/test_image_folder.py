"""ImageFolderDataModule on small generated folders: layout checks, splits, both loaders, statistics, bad files,
the CLI config, and (slow) the real CIFAR-10 JPEG copy."""

import shutil
import tarfile
from pathlib import Path

import pytest
import torch

from conftest import CONFIGS, REPO, write_image_folder
from litlab.command.cli import main
from litlab.command.errors import LitlabError
from litlab.data import BatchAugment, DeviceLoader, ImageFolderDataModule, image_cache

SHARED_TARBALL = REPO.parent / "shared" / "data" / "cifar10-jpg.tar.gz"


def ready(root: Path, **kwargs) -> ImageFolderDataModule:
    data = ImageFolderDataModule(root, batch_size=4, num_workers=0, **kwargs)
    data.prepare_data()
    data.setup("fit")
    return data


def class_of(images: torch.Tensor) -> torch.Tensor:
    """The class written into pixel (0, 0) by `write_image_folder`."""
    return (images[:, 0, 0, 0].long() - 10) // 40


def test_shape_classes_and_seeded_split_without_val(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path, {"train": 10, "test": 4})
    data = ready(root, val_fraction=0.2, seed=1)
    assert data.loader == "memory", "auto keeps small data in memory"
    assert (data.input_shape, data.num_classes, data.class_names) == ((3, 8, 8), 3, ["cat", "dog", "frog"])
    assert (len(data.train_set), len(data.val_set)) == (24, 6)
    for split in (data.train_set, data.val_set):
        assert torch.equal(class_of(split.images), split.labels), "labels stay with their images"
    train_ids = {image.numpy().tobytes() for image in data.train_set.images}
    assert not train_ids & {image.numpy().tobytes() for image in data.val_set.images}
    assert torch.equal(ready(root, val_fraction=0.2, seed=1).val_set.images, data.val_set.images)
    assert not torch.equal(ready(root, val_fraction=0.2, seed=2).val_set.images, data.val_set.images)


def test_val_folder_is_used_when_present(tmp_path: Path) -> None:
    data = ready(write_image_folder(tmp_path, {"train": 5, "val": 2}))
    assert (len(data.train_set), len(data.val_set)) == (15, 6)
    assert torch.equal(class_of(data.val_set.images), data.val_set.labels)
    with pytest.raises(LitlabError, match="no test/ folder"):
        data.setup("test")


def test_both_loaders_give_the_same_split_and_evaluation_batches(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path, {"train": 8, "test": 3})
    memory, textbook = ready(root, loader="memory"), ready(root, loader="torchvision")
    for module in (memory, textbook):
        module.setup("test")
    torch.testing.assert_close(torch.tensor(memory.mean), torch.tensor(textbook.mean))  # all 24 images sampled
    for split in ("val", "test"):
        loaders = [getattr(module, f"{split}_dataloader")() for module in (memory, textbook)]
        assert isinstance(loaders[0], DeviceLoader) and not isinstance(loaders[1], DeviceLoader)
        for (x_memory, y_memory), (x_textbook, y_textbook) in zip(*loaders, strict=True):
            assert torch.equal(y_memory, y_textbook)
            torch.testing.assert_close(x_memory, x_textbook, atol=1e-5, rtol=1e-5)
    augmented = next(iter(textbook.train_dataloader()))[0]
    assert augmented.shape == (4, 3, 8, 8)


def test_mean_and_std_come_from_the_training_split_or_the_config(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path, {"train": 10})
    data = ready(root)
    expected = image_cache.channel_stats(data.train_set.images)
    torch.testing.assert_close(torch.tensor(data.mean), torch.tensor(expected[0]))
    torch.testing.assert_close(torch.tensor(data.std), torch.tensor(expected[1]))
    given = ready(root, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    assert (given.mean, given.std) == ((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    x, _ = next(iter(given.val_dataloader()))
    torch.testing.assert_close(x, (given.val_set.images[:4] / 255 - 0.5) / 0.25)


def test_resize_grayscale_and_mixed_sizes(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path, {"train": 4})
    write_image_folder(tmp_path / "extra", {"train": 1}, classes=("cat",), size=12)
    shutil.copy(tmp_path / "extra" / "train" / "cat" / "0000.png", root / "train" / "cat" / "big.png")
    with pytest.raises(LitlabError, match="big.png"):
        ready(root, loader="memory")
    data = ready(root, image_size=(6, 10), grayscale=True)
    assert data.input_shape == (1, 6, 10) and data.train_set.images.shape[1:] == (1, 6, 10)


def test_a_corrupt_image_is_named_on_both_paths_and_other_files_are_ignored(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path, {"train": 4})
    (root / "train" / "dog" / "notes.txt").write_text("not an image, and not an image name either")
    assert len(ready(root).train_set) + len(ready(root).val_set) == 12
    bad = root / "train" / "dog" / "0002.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(LitlabError, match="0002.png"):
        ready(root, loader="memory")
    textbook = ready(root, loader="torchvision", mean=(0.5,) * 3, std=(0.5,) * 3, val_fraction=0.5)
    with pytest.raises(LitlabError, match="0002.png"):
        [batch for loader in (textbook.train_dataloader(), textbook.val_dataloader()) for batch in loader]


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        (None, "does not exist"),
        ({}, "has no train/ folder"),
        ({"train": 0}, "found no images"),
        ("no classes", "has no class folders"),
        ("val classes differ", "make them match"),
    ],
)
def test_layout_problems_say_what_was_expected(tmp_path: Path, layout: object, message: str) -> None:
    root = tmp_path / "data"
    if layout == "no classes":
        (root / "train").mkdir(parents=True)
    elif layout == "val classes differ":
        write_image_folder(root, {"train": 1})
        write_image_folder(root, {"val": 1}, classes=("cat", "dog"))
    elif layout is not None:
        root.mkdir()
        write_image_folder(root, layout)
    with pytest.raises(LitlabError, match=message) as error:
        ImageFolderDataModule(root)
    assert "train/<class>/" in str(error.value) or layout == "val classes differ"


def test_jpg_config_trains_through_the_cli(tmp_path: Path, in_tmp: Path) -> None:
    root = write_image_folder(tmp_path / "jpg", {"train": 6, "test": 2}, size=32, suffix=".jpg")
    main(["fit", "--config", str(CONFIGS / "cifar10_jpg_cnn.yaml"), "--data.init_args.root", str(root),
          "--data.init_args.batch_size", "8", "--data.init_args.augmentation.flip", "alternate",
          "--trainer.max_epochs", "1", "--trainer.accelerator", "cpu", "--trainer.enable_progress_bar", "false",
          "--model.init_args.backbone.init_args.width", "8"])  # fmt: skip
    run = in_tmp / "logs" / "cifar10_jpg_cnn" / "version_0"
    assert "root: " + str(root) in (run / "config.yaml").read_text()
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert BatchAugment(**checkpoint["datamodule_hyper_parameters"]["augmentation"]) == BatchAugment(
        4, flip="alternate"
    )


def cifar10_jpg(tmp_path: Path) -> Path:
    unpacked = REPO / "data" / "cifar10-jpg"
    if (unpacked / "train").is_dir():
        return unpacked
    if not SHARED_TARBALL.is_file():
        pytest.skip(f"neither {unpacked} nor {SHARED_TARBALL} is here")
    with tarfile.open(SHARED_TARBALL) as archive:
        archive.extractall(tmp_path, filter="data")
    return tmp_path


@pytest.mark.slow
def test_real_cifar10_jpeg_copy_loads_with_all_images_and_classes(tmp_path: Path) -> None:
    data = ImageFolderDataModule(cifar10_jpg(tmp_path), num_workers=0)
    data.prepare_data()
    data.setup("fit")
    data.setup("test")
    assert (
        data.input_shape == (3, 32, 32)
        and data.num_classes == 10
        and data.class_names[:2] == ["airplane", "automobile"]
    )
    assert (len(data.train_set) + len(data.val_set), len(data.test_set)) == (50_000, 10_000)
    assert torch.bincount(data.test_set.labels).tolist() == [1000] * 10
    assert all(0.2 < s < 0.3 for s in data.std) and all(0.4 < m < 0.5 for m in data.mean)
