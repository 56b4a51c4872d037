"""Can the model's confidence be believed? A reliability diagram after testing, beside the task's `test/ece`.

Test samples are binned by their top-1 probability into the same bins as torchmetrics'
`MulticlassCalibrationError` (`litlab.tasks.metrics.CALIBRATION_BINS` equal bins of [0, 1], plus one for a
confidence of exactly 1). Only three sums per bin are kept (samples, confidence, correct), on the device, and
summed across processes, so the diagram's expected calibration error equals `test/ece`.
"""

from typing import Any

import lightning as L
import torch

from litlab.callbacks.figure_output import log_figure
from litlab.callbacks.figures import reliability_figure
from litlab.callbacks.lookup import run_folder, tensorboard_writer
from litlab.tasks.metrics import CALIBRATION_BINS


def expected_calibration_error(sums: torch.Tensor) -> float:
    """From (3, bins) sums of (samples, confidence, correct): Σ_b n_b / N · |accuracy_b − confidence_b|."""
    count, confidence, correct = sums
    return float((confidence - correct).abs().sum() / count.sum().clamp_min(1))


class ReliabilityDiagram(L.Callback):
    """Logs `test/reliability_diagram` and writes `reliability.png` into the run folder."""

    def __init__(self) -> None:
        self._sums: torch.Tensor | None = None

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._sums = None

    def on_test_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if not isinstance(outputs, dict) or "logits" not in outputs:
            return
        confidence, predicted = outputs["logits"].float().softmax(dim=-1).max(dim=-1)
        device = confidence.device
        if self._sums is None:
            self._sums = torch.zeros(3, CALIBRATION_BINS + 1, dtype=torch.float64, device=device)
        edges = torch.linspace(0, 1, CALIBRATION_BINS + 1, dtype=confidence.dtype, device=device)
        index = torch.bucketize(confidence, edges, right=True) - 1  # as torchmetrics bins them
        values = torch.stack([torch.ones_like(confidence), confidence, (predicted == outputs["target"]).float()])
        self._sums.index_add_(1, index, values.double())

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._sums is not None:
            self._sums = trainer.strategy.reduce(self._sums, reduce_op="sum")  # collective: every process

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        sums, self._sums = self._sums, None
        if sums is None:
            return
        sums = sums.cpu()
        ece = expected_calibration_error(sums)
        shown = sums[:, :-1].clone()
        shown[:, -1] += sums[:, -1]  # a confidence of exactly 1 is drawn in the top bin
        count = shown[0]
        figure = reliability_figure(
            shown[1] / count.clamp_min(1), shown[2] / count.clamp_min(1), count,
            f"test reliability: ECE {ece:.4f} over {int(count.sum())} samples",
        )  # fmt: skip
        folder = run_folder(trainer)
        png = folder / "reliability.png" if folder else None
        log_figure(tensorboard_writer(trainer), "test/reliability_diagram", figure, trainer.global_step, png)
