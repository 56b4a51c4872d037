"""Where a dashboard figure goes: TensorBoard, a PNG beside the run, or both, from one drawing.

Drawing is most of a figure's cost (text layout and rasterising; a confusion matrix takes a sizeable fraction
of a second on a CPU). `SummaryWriter.add_figure` followed by `savefig` draws it twice; here the figure is
drawn once and the same pixels are logged and written, so the PNG is exactly what TensorBoard shows.
"""

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image
from torch.utils.tensorboard import SummaryWriter


def draw(figure: Figure) -> np.ndarray:
    """`figure` rasterised by Agg at its own dpi, as (height, width, 3) uint8 RGB (as `add_figure` logs it)."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def log_figure(writer: SummaryWriter | None, tag: str, figure: Figure, step: int, png: Path | None = None) -> None:
    """Log `figure` under `tag` (when there is a writer) and write it to `png` (when given), drawing it once;
    with neither, nothing is drawn."""
    if writer is not None or png is not None:
        log_pixels(writer, tag, draw(figure), step, png)


def log_pixels(writer: SummaryWriter | None, tag: str, pixels: np.ndarray, step: int, png: Path | None = None) -> None:
    """Log (height, width, 3) uint8 `pixels` under `tag` and/or write them to `png`."""
    if writer is not None:
        writer.add_image(tag, pixels, global_step=step, dataformats="HWC")
    if png is not None:
        save_pixels(pixels, png)


def save_pixels(pixels: np.ndarray, png: Path) -> None:
    """(height, width, 3) uint8 `pixels` as the PNG file `png`."""
    Image.fromarray(pixels).save(png)
