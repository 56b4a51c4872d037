"""Matplotlib figures the dashboard callbacks log or save: confusion matrix, per-class bars, labelled image grids.

Figures are built as `matplotlib.figure.Figure` objects, never through pyplot's global state, so they
render with the Agg canvas whatever backend is configured and are freed as soon as they are dropped.
"""

from collections.abc import Sequence

import torch
from matplotlib.figure import Figure
from torchmetrics.utilities.plot import plot_confusion_matrix
from torchvision.utils import make_grid

# Above this many classes the numbers in the cells are unreadable; the colours still tell the story.
MAX_CLASSES_WITH_TEXT = 20


def row_normalise(matrix: torch.Tensor) -> torch.Tensor:
    """Each true class (row) sums to 1; a class absent from the targets stays all zero."""
    matrix = matrix.double()
    return matrix / matrix.sum(dim=1, keepdim=True).clamp_min(1)


def confusion_figure(matrix: torch.Tensor, class_names: Sequence[str], title: str) -> Figure:
    """Row-normalised confusion matrix (rows: true class, columns: predicted) drawn by torchmetrics."""
    n = len(class_names)
    size = max(6.0, 0.7 * n + 3)
    fig = Figure(figsize=(size + 1.5, size), layout="constrained")
    ax = fig.add_subplot()
    plot_confusion_matrix(
        row_normalise(matrix.cpu()).float(), ax=ax, add_text=n <= MAX_CLASSES_WITH_TEXT, labels=list(class_names)
    )
    image = ax.images[0]
    image.set_clim(0, 1)
    fig.colorbar(image, ax=ax, label="fraction of the true class")
    ax.set_title(title)
    return fig


def per_class_figure(scores: dict[str, torch.Tensor], class_names: Sequence[str], title: str) -> Figure:
    """Grouped bars, one group per class and one bar per score (e.g. accuracy, precision, F1)."""
    n, k = len(class_names), len(scores)
    width = 0.8 / k
    fig = Figure(figsize=(max(6.0, 0.35 * n * k + 1.5), 4.5), layout="constrained")
    ax = fig.add_subplot()
    for i, (name, values) in enumerate(scores.items()):
        positions = [c + (i - (k - 1) / 2) * width for c in range(n)]
        bars = ax.bar(positions, values.tolist(), width, label=name)
        if n <= MAX_CLASSES_WITH_TEXT:
            ax.bar_label(bars, fmt="%.2f", fontsize=6, padding=1)
    ax.set_xticks(range(n), list(class_names), rotation=45, ha="right")
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("score")
    ax.set_title(title)
    fig.legend(loc="outside right upper")
    return fig


def display_images(
    images: torch.Tensor, mean: Sequence[float] | None = None, std: Sequence[float] | None = None
) -> torch.Tensor:
    """(B, C, H, W) network inputs to displayable [0, 1] values: undo Normalize, or min-max scale each image."""
    images = images.detach().float().cpu()
    if mean is not None and std is not None:
        shape = (1, -1, 1, 1)
        images = images * torch.tensor(std).view(shape) + torch.tensor(mean).view(shape)
        return images.clamp(0, 1)
    low = images.amin(dim=(1, 2, 3), keepdim=True)
    high = images.amax(dim=(1, 2, 3), keepdim=True)
    return (images - low) / (high - low).clamp_min(1e-8)


def is_image_batch(x: object) -> bool:
    """A (B, C, H, W) tensor with 1 or 3 channels; vector data has nothing to show as pictures."""
    return isinstance(x, torch.Tensor) and x.ndim == 4 and x.shape[1] in (1, 3)


def image_grid_figure(images: torch.Tensor, titles: Sequence[str], ncols: int = 8) -> Figure:
    """Images in [0, 1] tiled by `make_grid` into one picture, each tile titled in the padding above it.

    One `imshow` with text is several times faster to render than one subplot per image.
    """
    height, width = images.shape[-2:]
    pad = max(2, round(0.35 * height))  # room for a two-line title above every row
    grid = make_grid(images, nrow=ncols, padding=pad, pad_value=1.0)
    fig_width = 1.5 * min(ncols, len(images))  # about 1.5 inches per tile, whatever the pixel size
    fig = Figure(figsize=(fig_width, fig_width * grid.shape[1] / grid.shape[2]))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
    for i, title in enumerate(titles):
        row, col = divmod(i, ncols)
        x = pad + col * (width + pad) + width / 2
        y = pad + row * (height + pad) - 0.08 * height
        ax.text(x, y, title, ha="center", va="bottom", fontsize=7, linespacing=1.0)
    return fig


def roc_figure(curves: dict[str, tuple[torch.Tensor, torch.Tensor, float]], title: str) -> Figure:
    """One-vs-rest ROC curves, `curves[name] = (false positive rate, true positive rate, AUROC)`."""
    fig = Figure(figsize=(7.5, 6), layout="constrained")
    ax = fig.add_subplot()
    for name, (fpr, tpr, area) in curves.items():
        ax.plot(fpr.tolist(), tpr.tolist(), linewidth=1.2, label=f"{name} ({area:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="chance (0.500)")
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="false positive rate", ylabel="true positive rate", title=title)
    if len(curves) <= MAX_CLASSES_WITH_TEXT:
        fig.legend(loc="outside right upper", fontsize=7, title="class (AUROC)")
    return fig


def reliability_figure(confidence: torch.Tensor, accuracy: torch.Tensor, counts: torch.Tensor, title: str) -> Figure:
    """Reliability diagram: accuracy against mean confidence per confidence bin, with the bins' sample counts.

    A calibrated model's bars touch the diagonal; bars below it are over-confident.
    """
    n_bins = len(counts)
    edges = torch.linspace(0, 1, n_bins + 1)
    fig = Figure(figsize=(6, 6.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    used = counts > 0
    left, width = edges[:-1][used].tolist(), (1 / n_bins)
    top.bar(left, accuracy[used].tolist(), width=width, align="edge", edgecolor="black", label="accuracy")
    top.plot(confidence[used].tolist(), accuracy[used].tolist(), "o", color="tab:red", markersize=3,
             label="(mean confidence, accuracy)")  # fmt: skip
    top.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
    top.set(ylim=(0, 1), ylabel="accuracy in the bin", title=title)
    top.legend(loc="upper left", fontsize=8)
    bottom.bar(left, counts[used].tolist(), width=width, align="edge", color="tab:gray")
    bottom.set(xlim=(0, 1), xlabel="confidence (top-1 probability)", ylabel="samples")
    return fig
