"""A dashboard figure is drawn once: TensorBoard's image and the run folder's PNG are the same pixels."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.tensorboard._utils import figure_to_image

from litlab.callbacks import confusion_figure as confusion
from litlab.callbacks import figure_output
from litlab.callbacks.figures import confusion_figure, roc_figure

NAMES = ["cat", "dog", "frog"]


def matrix(seed: int) -> torch.Tensor:
    return torch.randint(0, 30, (3, 3), generator=torch.Generator().manual_seed(seed))


def test_draw_gives_the_pixels_tensorboards_add_figure_logs() -> None:
    curves = {"cat": (torch.linspace(0, 1, 20), torch.linspace(0, 1, 20).sqrt(), 0.7)}
    reference = figure_to_image(roc_figure(curves, "roc"), close=False)  # (3, H, W), what add_figure logs
    assert np.array_equal(figure_output.draw(roc_figure(curves, "roc")), np.moveaxis(reference, 0, -1))


def test_log_figure_writes_the_drawing_and_draws_nothing_with_nowhere_to_send_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    figure_output.log_figure(None, "test/x", confusion_figure(matrix(0), NAMES, "t"), 0, tmp_path / "x.png")
    saved = np.asarray(Image.open(tmp_path / "x.png").convert("RGB"))
    assert np.array_equal(saved, figure_output.draw(confusion_figure(matrix(0), NAMES, "t")))
    monkeypatch.setattr(figure_output, "draw", lambda figure: pytest.fail("drawn for nobody"))
    figure_output.log_figure(None, "test/x", confusion_figure(matrix(0), NAMES, "t"), 0)


def test_the_test_confusion_matrix_is_drawn_once_for_both_callers_and_again_for_new_counts() -> None:
    first = confusion.confusion_pixels(matrix(1), NAMES, confusion.confusion_title("test", matrix(1)))
    again = confusion.confusion_pixels(matrix(1).clone(), NAMES, confusion.confusion_title("test", matrix(1)))
    assert again is first  # TestReport's PNG reuses ConfusionMatrixFigure's drawing
    expected = figure_output.draw(confusion_figure(matrix(1), NAMES, confusion.confusion_title("test", matrix(1))))
    assert np.array_equal(first, expected)
    other = confusion.confusion_pixels(matrix(2), NAMES, confusion.confusion_title("test", matrix(2)))
    assert other is not first and not np.array_equal(other, first)
    renamed = confusion.confusion_pixels(matrix(1), ["a", "b", "c"], confusion.confusion_title("test", matrix(1)))
    assert not np.array_equal(renamed, first)


def test_the_title_states_the_accuracy_counted_from_the_matrix() -> None:
    counts = torch.tensor([[3, 1], [2, 4]])
    assert confusion.confusion_title("test", counts) == "test confusion matrix: accuracy 0.7000"
    assert confusion.confusion_title("val", counts, epoch=3) == "val confusion matrix, epoch 3: accuracy 0.7000"
