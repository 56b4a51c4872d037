"""One-vs-rest ROC curves after testing: a TensorBoard image, per-class AUROC scalars, `roc.png` and `roc_auc.csv`.

The curves are torchmetrics' exact `MulticlassROC` (every test score kept until the epoch ends, synced across
processes), and each class's area is the trapezoid under its curve, the same computation as `test/auroc`, whose
macro average leaves out classes absent from the test targets; so the mean of the per-class values listed here
is `test/auroc` (see `litlab.tasks.metrics.PresentClassesAUROC`).
"""

import csv
from typing import Any

import lightning as L
import torch
from torchmetrics.classification import MulticlassROC

from litlab.callbacks.figure_output import log_figure
from litlab.callbacks.figures import roc_figure
from litlab.callbacks.lookup import class_names, run_folder, tensorboard_writer


class ROCCurves(L.Callback):
    """Logs `test/roc_curves` and `test/auroc_per_class/<class>`; writes `roc.png` and `roc_auc.csv` to the run.

    Args:
        thresholds: None keeps every score (exact); an int bins them at that many thresholds in [0, 1]
            (constant memory for very large test sets, approximate areas).
    """

    def __init__(self, thresholds: int | None = None) -> None:
        self.thresholds = thresholds
        self._roc: MulticlassROC | None = None
        self._curves: dict[str, tuple[torch.Tensor, torch.Tensor, float]] = {}

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._roc, self._curves = None, {}

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
        logits = outputs["logits"].float()
        if self._roc is None:
            self._roc = MulticlassROC(logits.shape[-1], thresholds=self.thresholds).to(logits.device)
        self._roc.update(logits.softmax(dim=-1), outputs["target"])

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._roc is None:
            return
        fpr, tpr, _ = self._roc.compute()  # collective under DDP: every process calls it
        self._roc = None
        if isinstance(fpr, torch.Tensor):  # binned: one (classes, thresholds) tensor instead of a list per class
            fpr, tpr = list(fpr), list(tpr)
        names = class_names(trainer, len(fpr))
        for name, x, y in zip(names, fpr, tpr, strict=True):
            x, y = x.double().cpu(), y.double().cpu()
            # A class absent from the targets has a true positive rate of 0 throughout (torchmetrics' choice), one
            # with no negatives a NaN false positive rate: neither has a curve.
            if y.max() < 1 or torch.isnan(x).any() or torch.isnan(y).any():
                continue
            # Binned curves run from threshold 0 (all positive) to 1; exact ones the other way. Area is |∫|.
            self._curves[name] = (x, y, abs(torch.trapezoid(y, x).item()))

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        curves, self._curves = self._curves, {}
        if not curves:
            return
        areas = {name: area for name, (_, _, area) in curves.items()}
        macro = sum(areas.values()) / len(areas)
        writer = tensorboard_writer(trainer)
        figure = roc_figure(curves, f"test ROC, one class vs rest: macro AUROC {macro:.4f}")
        if writer is not None:
            for name, area in areas.items():
                writer.add_scalar(f"test/auroc_per_class/{name}", area, global_step=trainer.global_step)
        folder = run_folder(trainer)
        log_figure(writer, "test/roc_curves", figure, trainer.global_step, folder / "roc.png" if folder else None)
        if folder is None:
            return
        with (folder / "roc_auc.csv").open("w", newline="") as file:
            writer_csv = csv.writer(file)
            writer_csv.writerow(["class", "auroc"])
            writer_csv.writerows([name, round(area, 6)] for name, area in areas.items())
