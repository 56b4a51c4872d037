"""A generated 8x8 grayscale digit folder: a non-CIFAR image size for checking the image defaults
(`scripts/bench_image_defaults.py`).

Each image is one digit drawn in Pillow's built-in font at a random size, position and slant on a 16x16
canvas, shrunk to 8x8, with pixel noise: ten classes whose mirror images are not the same class, like the
real 8x8 digit sets. Deterministic from a seed; written as PNG files in mode L (one channel).
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def write_glyph_digits(root: str | Path, per_class: dict[str, int], seed: int = 0, side: int = 8) -> Path:
    """root/<split>/<digit>/<n>.png for each split in `per_class` (images per class)."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    for split, count in per_class.items():
        for digit in range(10):
            folder = root / split / str(digit)
            folder.mkdir(parents=True, exist_ok=True)
            for n in range(count):
                canvas = Image.new("L", (16, 16))
                font = ImageFont.load_default(size=int(rng.integers(11, 16)))
                x, y = rng.integers(1, 6), rng.integers(-2, 2)
                ImageDraw.Draw(canvas).text((int(x), int(y)), str(digit), fill=255, font=font)
                shear = rng.uniform(-0.25, 0.25)
                canvas = canvas.transform((16, 16), Image.Transform.AFFINE, (1, shear, -8 * shear, 0, 1, 0))
                pixels = np.asarray(canvas.resize((side, side), Image.Resampling.BILINEAR), dtype=np.float64)
                pixels = np.clip(pixels * rng.uniform(0.7, 1.3) + rng.normal(0, 20, pixels.shape), 0, 255)
                Image.fromarray(pixels.astype(np.uint8), mode="L").save(folder / f"{n:04d}.png")
    return root
