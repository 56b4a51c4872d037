"""The shared CIFAR-10 JPEG copy in the forms the speed benchmarks need, all built from one image folder.

- `to_airbench`: the tensor files airbench's `CifarLoader(path)` reads, `path/train.pt` and `path/test.pt`,
  each `{"images": uint8 (N, 32, 32, 3), "labels": int64 (N,), "classes": [names]}` (the format its loader
  writes itself when it downloads CIFAR-10). Images are decoded with torchvision's decoder in
  `torchvision.datasets.ImageFolder`'s file order, as litlab's image-folder data decodes them, so both sides
  train on the same pixels.
- `reencoded`: every image encoded as JPEG once more (Pillow, quality 75 as the copy was made): the copy
  "decoded twice". The official lossless arrays cannot be fetched offline, so what one JPEG generation costs is
  estimated from what a second one costs.
- `subset`: the first N images of each class (symbolic links), for smoke runs.
"""

import os
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from torchvision.datasets.folder import IMG_EXTENSIONS, make_dataset
from torchvision.io import ImageReadMode, decode_image, read_file

SPLITS = ("train", "test")


def samples(split_folder: Path) -> tuple[list[str], list[tuple[str, int]]]:
    """Class names (sorted folder names) and (path, label) pairs in ImageFolder's order."""
    classes = sorted(entry.name for entry in os.scandir(split_folder) if entry.is_dir())
    return classes, make_dataset(str(split_folder), {c: i for i, c in enumerate(classes)}, IMG_EXTENSIONS)


def _decode(path: str) -> torch.Tensor:
    warnings.filterwarnings("ignore", message=".*decoding and encoding capabilities", category=DeprecationWarning)
    return decode_image(read_file(path), mode=ImageReadMode.RGB).permute(1, 2, 0)  # (H, W, 3)


def to_airbench(folder: Path, out: Path) -> Path:
    """`out/train.pt` and `out/test.pt` from `folder/train` and `folder/test` (skipped when they exist)."""
    out.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        target = out / f"{split}.pt"
        if target.exists():
            continue
        classes, pairs = samples(folder / split)
        with ThreadPoolExecutor(min(4, os.cpu_count() or 1)) as pool:
            images = torch.stack(list(pool.map(_decode, [path for path, _ in pairs], chunksize=256)))
        labels = torch.tensor([label for _, label in pairs])
        temporary = target.with_suffix(".tmp")
        torch.save({"images": images, "labels": labels, "classes": classes}, temporary)
        os.replace(temporary, target)
    return out


def pixel_change(first: Path, second: Path) -> tuple[float, float]:
    """Between two `to_airbench` folders of the same images (e.g. the copy and the copy encoded once more): the
    mean absolute pixel difference (0-255 scale) and the share of images whose pixels are all unchanged."""
    a, b = (torch.load(folder / "train.pt")["images"] for folder in (first, second))
    difference = (a.short() - b.short()).abs()
    return difference.float().mean().item(), (difference.flatten(1).amax(1) == 0).float().mean().item()


def _files(folder: Path) -> Iterator[tuple[Path, Path]]:
    """(file, its path relative to `folder`) for every image of every split."""
    for split in SPLITS:
        for path, _ in samples(folder / split)[1]:
            yield Path(path), Path(path).relative_to(folder)


def reencoded(folder: Path, out: Path, quality: int = 75) -> Path:
    """A copy of `folder` with every image decoded and saved as JPEG again (skipped when `out` is complete)."""
    from PIL import Image

    done = out / ".complete"
    if done.exists():
        return out

    def save(pair: tuple[Path, Path]) -> None:
        source, relative = pair
        target = out / relative.with_suffix(".jpg")
        target.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(source) as image:
            image.convert("RGB").save(target, quality=quality)

    with ThreadPoolExecutor(min(4, os.cpu_count() or 1)) as pool:
        list(pool.map(save, _files(folder), chunksize=256))
    done.touch()
    return out


def subset(folder: Path, out: Path, per_class: dict[str, int]) -> Path:
    """`out/<split>/<class>/` linking to the first `per_class[split]` images of each class of `folder`."""
    for split, count in per_class.items():
        taken: dict[int, int] = {}
        for path, label in samples(folder / split)[1]:
            if taken.setdefault(label, 0) >= count:
                continue
            taken[label] += 1
            link = out / Path(path).relative_to(folder)
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.is_symlink():
                os.symlink(Path(path).resolve(), link)
    return out
