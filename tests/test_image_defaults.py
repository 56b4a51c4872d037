"""Image defaults that fit the images: crop translation 1/16 of the side, one channel for a grayscale folder."""

from pathlib import Path

import pytest
import torch
from PIL import Image
from torchvision.transforms import v2

from conftest import CONFIGS, write_image_folder
from litlab.command.cli import resolved_config
from litlab.data import BatchAugment, CIFAR10DataModule, ImageFolderDataModule


@pytest.mark.parametrize(("side", "padding"), [(32, 2), (8, 0), (16, 1), (28, 1), (96, 6), (7, 0)])
def test_crop_padding_defaults_to_a_sixteenth_of_the_shorter_side(side: int, padding: int) -> None:
    augment = BatchAugment()
    assert augment.padding_for((side, side + 10)) == padding
    offsets = augment.plan(4000, (side, side + 10), torch.Generator().manual_seed(0), seed=0, epoch=0).offsets
    assert offsets.abs().max().item() == padding  # every shift up to the padding is drawn, none beyond
    assert BatchAugment(crop_padding=2).padding_for((side, side)) == 2  # an explicit value wins


def write_gray_folder(root: Path, colour_file: bool = False) -> Path:
    for split in ("train", "test"):
        for name in ("a", "b"):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(3):
                Image.fromarray(torch.randint(0, 256, (8, 8), dtype=torch.uint8).numpy(), mode="L").save(
                    folder / f"{i}.png"
                )
    if colour_file:
        Image.new("RGB", (8, 8)).save(root / "test" / "b" / "colour.png")
    return root


def test_a_grayscale_folder_gets_one_channel_and_a_colour_image_makes_it_rgb(tmp_path: Path) -> None:
    gray = ImageFolderDataModule(write_gray_folder(tmp_path / "gray"), loader="memory", num_workers=0)
    assert gray.input_shape == (1, 8, 8)
    gray.setup("fit")
    assert gray.train_set.images.shape[1] == 1
    mixed = ImageFolderDataModule(write_gray_folder(tmp_path / "mixed", colour_file=True), num_workers=0)
    assert mixed.input_shape == (3, 8, 8)
    rgb = ImageFolderDataModule(write_image_folder(tmp_path / "rgb", {"train": 2}), num_workers=0)
    assert rgb.input_shape == (3, 8, 8)
    assert ImageFolderDataModule(tmp_path / "rgb", grayscale=True, num_workers=0).input_shape == (1, 8, 8)


def test_the_torchvision_path_crops_by_the_same_default(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path / "f", {"train": 2}, size=32)
    data = ImageFolderDataModule(root, loader="torchvision", mean=(0.5,) * 3, std=(0.25,) * 3)
    (crop,) = [step for step in data.transforms(train=True).transforms if isinstance(step, v2.RandomCrop)]
    assert crop.padding == [2, 2, 2, 2]


def test_the_generated_digit_folder_is_grayscale_8x8_and_deterministic(tmp_path: Path) -> None:
    from benchmarks.glyph_digits import write_glyph_digits

    first = write_glyph_digits(tmp_path / "a", {"train": 2, "test": 1})
    second = write_glyph_digits(tmp_path / "b", {"train": 2, "test": 1})
    data = ImageFolderDataModule(first, num_workers=0)
    assert data.input_shape == (1, 8, 8) and data.class_names == [str(d) for d in range(10)]
    for path in first.rglob("*.png"):
        assert path.read_bytes() == (second / path.relative_to(first)).read_bytes()


def test_an_image_folder_is_not_mirrored_unless_asked_and_cifar_is(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path / "f", {"train": 2}, size=16)
    folder = ImageFolderDataModule(root, loader="torchvision", mean=(0.5,) * 3, std=(0.25,) * 3)
    assert not any(isinstance(s, v2.RandomHorizontalFlip) for s in folder.transforms(train=True).transforms)
    plan = folder.augmentation.plan(1000, (16, 16), torch.Generator().manual_seed(0), seed=0, epoch=0)
    assert not plan.flips.any()
    asked = ImageFolderDataModule(root, loader="torchvision", mean=(0.5,) * 3, std=(0.25,) * 3,
                                  augmentation=BatchAugment(flip="random"))  # fmt: skip
    assert any(isinstance(s, v2.RandomHorizontalFlip) for s in asked.transforms(train=True).transforms)
    assert CIFAR10DataModule(tmp_path / "cifar", download=False).augmentation == BatchAugment(4, flip="random")


@pytest.mark.parametrize("config", ["cifar10_cnn", "cifar10_simple_cnn", "cifar10_jpg_cnn", "cifar10_fast_cpu"])
def test_the_cifar_configs_turn_flips_on_themselves(config: str) -> None:
    resolved = resolved_config(["fit", "--config", str(CONFIGS / f"{config}.yaml")])
    augmentation = resolved["data"]["init_args"]["augmentation"]
    assert augmentation["flip"] in ("random", "alternate") and augmentation["crop_padding"] in (2, 4)
