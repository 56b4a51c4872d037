"""image_cache: decoding to one uint8 tensor, the on-disk cache (reuse, invalidation, atomic writes), channel stats."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import write_image_folder
from litlab.command.errors import LitlabError
from litlab.data import ImageFolderDataModule, image_cache


def pil_pixels(path: Path) -> torch.Tensor:
    with Image.open(path) as image:
        return torch.from_numpy(np.asarray(image.convert("RGB")).copy()).permute(2, 0, 1)


def test_decoding_matches_pillow_for_png_jpeg_and_bmp(tmp_path: Path) -> None:
    paths = []
    for suffix in (".png", ".jpg", ".bmp"):  # BMP has no torchvision decoder: Pillow's fallback reads it
        write_image_folder(tmp_path / suffix[1:], {"train": 2}, classes=("a",), size=12, suffix=suffix)
        paths += sorted(str(p) for p in (tmp_path / suffix[1:]).rglob(f"*{suffix}"))
    decoded = image_cache.decode_images(paths)
    assert decoded.shape == (6, 3, 12, 12) and decoded.dtype == torch.uint8
    for image, path in zip(decoded, paths, strict=True):
        assert torch.equal(image, pil_pixels(Path(path)))
    gray = image_cache.decode_images(paths[:2], grayscale=True)
    assert gray.shape == (2, 1, 12, 12)


def test_sizes_must_agree_unless_resizing_and_bad_files_are_named(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "small", {"train": 1}, classes=("a",), size=8)
    write_image_folder(tmp_path / "big", {"train": 1}, classes=("a",), size=16)
    paths = [str(next((tmp_path / name).rglob("*.png"))) for name in ("small", "big")]
    with pytest.raises(LitlabError, match="image_size") as error:
        image_cache.decode_images(paths)
    assert paths[1] in str(error.value)
    assert image_cache.decode_images(paths, size=(10, 12)).shape == (2, 3, 10, 12)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(LitlabError, match="Remove or replace") as error:
        image_cache.decode_images([paths[0], str(broken)])
    assert str(broken) in str(error.value)


def test_load_or_build_reuses_then_rebuilds_for_a_new_key(tmp_path: Path) -> None:
    builds = []

    def build() -> dict[str, torch.Tensor]:
        builds.append(1)
        return {"images": torch.full((2, 3), len(builds), dtype=torch.uint8)}

    first = image_cache.load_or_build(tmp_path, "train", "aaaa", build)
    again = image_cache.load_or_build(tmp_path, "train", "aaaa", build)
    assert len(builds) == 1 and torch.equal(first["images"], again["images"])
    image_cache.load_or_build(tmp_path, "train", "bbbb", build)
    image_cache.load_or_build(tmp_path, "test", "aaaa", build)
    files = sorted(p.name for p in (tmp_path / image_cache.CACHE_DIR).iterdir())
    assert files == ["test-aaaa.pt", "train-bbbb.pt"], "stale entries go, other splits stay, no temporary files"


def test_unreadable_or_unwritable_cache_only_costs_time(tmp_path: Path) -> None:
    tensors = {"x": torch.arange(4)}
    cache = image_cache.cache_path(tmp_path, "train", "key")
    cache.parent.mkdir()
    cache.write_bytes(b"truncated")
    with pytest.warns(UserWarning, match="unreadable cache"):
        assert torch.equal(image_cache.load_or_build(tmp_path, "train", "key", lambda: tensors)["x"], tensors["x"])
    assert torch.equal(torch.load(cache, weights_only=True)["x"], tensors["x"]), "the bad file was replaced"
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / image_cache.CACHE_DIR).write_text("a file where the cache folder should be")
    with pytest.warns(UserWarning, match="could not write the cache"):
        assert image_cache.load_or_build(blocked, "train", "key", lambda: tensors) is tensors


def test_fingerprint_follows_file_list_sizes_mtimes_and_options(tmp_path: Path) -> None:
    write_image_folder(tmp_path, {"train": 3}, classes=("a",))
    files = sorted(str(p) for p in tmp_path.rglob("*.png"))
    key = image_cache.fingerprint(files, tmp_path, (8, 8))
    assert key == image_cache.fingerprint(files, tmp_path, (8, 8))
    assert key != image_cache.fingerprint(files[:2], tmp_path, (8, 8))
    assert key != image_cache.fingerprint(files, tmp_path, (16, 16))
    stat = os.stat(files[0])
    os.utime(files[0], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert key != image_cache.fingerprint(files, tmp_path, (8, 8))


def test_channel_stats_are_the_per_channel_mean_and_std() -> None:
    images = torch.randint(0, 256, (50, 3, 6, 6), dtype=torch.uint8)
    mean, std = image_cache.channel_stats(images, chunk=7)
    pixels = images.double().div(255).transpose(0, 1).reshape(3, -1)
    torch.testing.assert_close(torch.tensor(mean, dtype=torch.float64), pixels.mean(1))
    torch.testing.assert_close(torch.tensor(std, dtype=torch.float64), pixels.std(1, correction=0))


def test_image_folder_decodes_once_and_again_after_a_file_changes(tmp_path: Path, monkeypatch) -> None:
    root = write_image_folder(tmp_path / "data", {"train": 6, "test": 2})
    decoded: list[str] = []
    original = image_cache.decode_one
    monkeypatch.setattr(image_cache, "decode_one", lambda path, gray: decoded.append(path) or original(path, gray))

    def load() -> ImageFolderDataModule:
        data = ImageFolderDataModule(root, loader="memory", batch_size=4, num_workers=0)
        data.prepare_data()
        data.setup("fit")
        return data

    first = load()
    assert len(decoded) == (1 + 18) + (1 + 6)  # train/ and test/ once each, after a probe of the size
    caches = sorted(p.name.split("-")[0] for p in (root / image_cache.CACHE_DIR).glob("*.pt"))
    assert caches == ["stats", "test", "train"]
    decoded.clear()
    second = load()
    assert decoded == [], "the pixels come from the cache"
    assert torch.equal(first.train_set.images, second.train_set.images)

    changed = root / "train" / "dog" / "0003.png"
    Image.new("RGB", (8, 8), (255, 0, 0)).save(changed)
    decoded.clear()
    third = load()
    assert len(decoded) == 1 + 18, "train/ is decoded again, test/ is not"
    assert str(changed) in decoded
    red = torch.tensor([255, 0, 0], dtype=torch.uint8).view(3, 1, 1).expand(3, 8, 8)
    everything = torch.cat([third.train_set.images, third.val_set.images])
    assert any(torch.equal(image, red) for image in everything)
    assert len(list((root / image_cache.CACHE_DIR).glob("train-*.pt"))) == 1
