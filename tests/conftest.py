"""Shared test helpers: paths to the repo's configs and a fast synthetic run that writes into tmp_path."""

from pathlib import Path

import pytest
import torch

from cifar_fake import fake_cifar10  # noqa: F401 - registers the fixture for every test module

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"


def fast_synthetic_args(log_dir: Path, epochs: int = 2) -> list[str]:
    """The demo config, shrunk to a few hundred samples, logging under `log_dir`, with no progress bar."""
    return [
        "--config", str(CONFIGS / "synthetic_mlp.yaml"),
        "--trainer.logger.init_args.save_dir", str(log_dir),
        "--trainer.max_epochs", str(epochs),
        "--trainer.enable_progress_bar", "false",
        "--trainer.enable_model_summary", "false",
        "--trainer.log_every_n_steps", "1",
        "--data.init_args.sizes", "[512, 256, 256]",
        "--model.init_args.scheduler.init_args.T_max", str(epochs),
    ]  # fmt: skip


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test from an empty folder so nothing lands in the repo."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_image_folder(
    root: Path, counts: dict[str, int], classes: tuple[str, ...] = ("cat", "dog", "frog"), size: int = 8,
    suffix: str = ".png",
) -> Path:  # fmt: skip
    """An ImageFolder tree: `counts[split]` random RGB images per class in root/<split>/<class>/NNNN<suffix>.

    Pixel (0, 0) holds 40 * class index + 10 in every channel, so a decoded image says its class (JPEG: roughly).
    """
    from PIL import Image  # only the tests that write images pay for the import

    for split, per_class in counts.items():
        for label, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True)
            for number in range(per_class):
                generator = torch.Generator().manual_seed(sum(map(ord, split)) * 10**6 + label * 10**4 + number)
                pixels = torch.randint(0, 256, (size, size, 3), dtype=torch.uint8, generator=generator)
                pixels[0, 0] = 40 * label + 10
                Image.fromarray(pixels.numpy()).save(folder / f"{number:04d}{suffix}")
    return root
