"""Decode a folder of images once into one uint8 tensor and keep it on disk next to the data.

Decoding 60,000 small JPEGs takes tens of seconds; loading the decoded tensor back takes well under one. The
cache lives in `<root>/.litlab_cache/<split>-<key>.pt`, where the key hashes every source file's relative path,
size and modification time plus the decoding options, so adding, removing, replacing or touching a file makes a
new key and the stale file is deleted when the new one is written. Files are written to a temporary name and
fsync'd and renamed into place, so an interrupted run never leaves a half-written cache behind, and processes
building the same cache at once each rename a complete file over the other's (the last one stays; readers see
one whole file or the other). A file that does not load (truncated, corrupt) is decoded again and replaced.
An unwritable root only costs the cache: the data is decoded again next time, with a warning.
"""

import contextlib
import hashlib
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.transforms.v2 import functional as TF
from tqdm.auto import tqdm

from litlab.command.errors import LitlabError

CACHE_DIR = ".litlab_cache"
DECODER = "pillow"  # part of every cache key: a cache decoded another way is not reused
CHUNK = 512  # files per task in the decoding pool
PROGRESS_MIN = 2000  # show a progress bar from this many files on


def fingerprint(files: Iterable[str], root: str | Path, *options: object) -> str:
    """A short hash of each file's path (relative to `root`), size and mtime, and of `options`."""
    digest = hashlib.sha256(repr((DECODER, *options)).encode())
    prefix = len(os.path.join(root, ""))
    for file in files:  # plain strings and os.stat: pathlib costs seconds on 60,000 files
        stat = os.stat(file)
        digest.update(f"{file[prefix:]}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def cache_path(root: Path, split: str, key: str) -> Path:
    return root / CACHE_DIR / f"{split}-{key}.pt"


def load_or_build(
    root: Path, split: str, key: str, build: Callable[[], dict[str, torch.Tensor]]
) -> dict[str, torch.Tensor]:
    """The tensors cached for (`split`, `key`) under `root`, built and saved first if there are none."""
    path = cache_path(root, split, key)
    if path.is_file():
        try:
            return torch.load(path, weights_only=True, mmap=True)  # mmap: no second copy in memory
        except Exception as error:  # a truncated or foreign file: rebuild it
            warnings.warn(f"ignoring unreadable cache {path} ({error}); rebuilding it", stacklevel=2)
    tensors = build()
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(exist_ok=True)
        with open(temporary, "wb") as file:
            torch.save(tensors, file)
            file.flush()
            os.fsync(file.fileno())  # on disk before the rename makes it visible: a crash leaves old or new
        os.replace(temporary, path)  # atomic: a concurrent builder's rename wins or loses whole
    except (OSError, RuntimeError) as error:  # torch.save reports a full disk as a RuntimeError
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        warnings.warn(f"could not write the cache {path} ({error}); the data will be decoded again", stacklevel=2)
        return tensors
    for stale in path.parent.glob(f"{split}-*.pt"):
        if stale != path:
            with contextlib.suppress(OSError):  # e.g. still open in another process on Windows
                stale.unlink()
    return tensors


def open_image(path: str | Path, grayscale: bool = False) -> Image.Image:
    """Pillow's reading of `path` as RGB (or L); a file it cannot read raises `LitlabError` naming it."""
    try:
        with Image.open(path) as image:
            return image.convert("L" if grayscale else "RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise LitlabError(f"cannot read the image {path} ({error}). Remove or replace that file.") from error


def decode_one(path: str, grayscale: bool) -> torch.Tensor:
    """(C, H, W) uint8 as Pillow reads it: the reader of torchvision's ImageFolder and of the exported-model
    example (torchvision.io's decoders are deprecated since torchvision 0.29)."""
    array = np.asarray(open_image(path, grayscale))
    return torch.from_numpy(array.copy()).reshape(*array.shape[:2], -1).permute(2, 0, 1)


def channel_stats(images: torch.Tensor, chunk: int = 4096) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of uint8 (N, C, H, W) images on the [0, 1] scale, in chunks to bound memory."""
    sums = torch.zeros(images.shape[1], dtype=torch.float64)
    squares = torch.zeros_like(sums)
    for part in images.split(chunk):
        pixels = part.float()
        sums += pixels.sum(dim=(0, 2, 3), dtype=torch.float64)
        squares += pixels.square().sum(dim=(0, 2, 3), dtype=torch.float64)
    count = images.numel() / images.shape[1]
    mean = sums / count
    std = (squares / count - mean.square()).clamp(min=0).sqrt()
    return (mean / 255).tolist(), (std / 255).tolist()


def _decode_chunk(paths: Sequence[str], size: tuple[int, int], resize: bool, grayscale: bool) -> torch.Tensor:
    images = []
    for path in paths:
        image = decode_one(path, grayscale)
        if tuple(image.shape[-2:]) != size:
            if not resize:
                raise LitlabError(
                    f"images differ in size: {path} is {tuple(image.shape[-2:])}, the first one is {size}. "
                    "Set the data module's image_size to resize them all to one size."
                )
            image = TF.resize(image, list(size), antialias=True)
        images.append(image)
    return torch.stack(images)


def decode_images(
    paths: Sequence[str], size: tuple[int, int] | None = None, grayscale: bool = False, workers: int | None = None
) -> torch.Tensor:
    """Decode `paths` into one (N, C, H, W) uint8 tensor, resized to `size` (H, W) when given.

    Without `size` every image must have the size of the first. A file that cannot be decoded raises
    `LitlabError` naming it. Runs on a thread pool (the decoders release the GIL), with a progress bar
    for big folders.
    """
    if not paths:
        raise LitlabError("no images to decode")
    with warnings.catch_warnings():
        # torchvision 0.29 deprecates its decoders in favour of torchcodec; they still work and beat Pillow.
        warnings.filterwarnings("ignore", message=".*decoding and encoding capabilities", category=DeprecationWarning)
        resize = size is not None
        size = size or tuple(decode_one(paths[0], grayscale).shape[-2:])
        chunks = [paths[start : start + CHUNK] for start in range(0, len(paths), CHUNK)]
        decoded = []
        with (
            ThreadPoolExecutor(workers or min(4, os.cpu_count() or 1)) as pool,
            tqdm(total=len(paths), unit="img", desc="decoding images", disable=len(paths) < PROGRESS_MIN) as bar,
        ):
            for part in pool.map(lambda chunk: _decode_chunk(chunk, size, resize, grayscale), chunks):
                decoded.append(part)
                bar.update(len(part))
    return torch.cat(decoded)
