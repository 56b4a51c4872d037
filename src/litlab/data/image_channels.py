"""How many channels an image folder needs: one when every image is stored as grayscale, else three (RGB)."""

from collections.abc import Iterable
from pathlib import Path

from PIL import Image

GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}  # Pillow's one-channel modes (LA: + alpha)


def all_grayscale(paths: Iterable[str | Path]) -> bool:
    """Whether every image file is stored with one channel. Only headers are read; the first colour (or
    unreadable) file stops the scan, so an RGB folder costs one file. An unreadable file is reported later,
    when it is decoded."""
    found = False
    for path in paths:
        try:
            with Image.open(path) as image:
                if image.mode not in GRAY_MODES:
                    return False
        except (OSError, ValueError, Image.DecompressionBombError):
            return False
        found = True
    return found
