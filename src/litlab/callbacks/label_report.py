"""After testing a multi-label task: per-label scores and decision thresholds, ROC and PR curves.

A multi-label problem has no confusion matrix across labels (each label is its own yes/no), so this is
its test picture: `per_label.csv` (support, precision, recall and F1 at the 0.5 threshold the metrics use,
AUROC, and the threshold that maximises each label's F1 with the F1 it reaches), `per_label.png` (bars),
`roc.png`, and in TensorBoard the same bars and curves plus one PR curve per label. The scores are kept
exactly (torchmetrics' `MultilabelROC` state, synced across processes), so the table agrees with the metrics.
"""

import csv
from typing import Any

import lightning as L
import torch
from torchmetrics.classification import MultilabelROC
from torchmetrics.functional.classification import multilabel_precision_recall_curve, multilabel_roc
from torchmetrics.utilities import dim_zero_cat

from litlab.callbacks.figure_output import log_figure
from litlab.callbacks.figures import per_class_figure, roc_figure
from litlab.callbacks.lookup import class_names, run_folder, tensorboard_writer

THRESHOLD = 0.5  # the metrics' decision threshold (torchmetrics: positive when probability > 0.5)


def label_table(probabilities: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per label: support, precision, recall, F1 at THRESHOLD, AUROC (NaN without both outcomes), and the
    threshold with the best F1 (predicting positive at probability >= threshold) and that F1."""
    predicted = probabilities > THRESHOLD
    positive = targets.bool()
    tp = (predicted & positive).sum(dim=0).double()
    fp = (predicted & ~positive).sum(dim=0).double()
    fn = (~predicted & positive).sum(dim=0).double()
    num_labels = targets.shape[1]
    precision, recall, thresholds = multilabel_precision_recall_curve(probabilities, targets, num_labels)
    best_threshold, best_f1 = [], []
    for p, r, t in zip(precision, recall, thresholds, strict=True):
        f1 = (2 * p * r / (p + r).clamp_min(1e-12))[: len(t)]
        best = int(f1.argmax()) if len(t) else 0
        best_threshold.append(float(t[best]) if len(t) else float("nan"))
        best_f1.append(float(f1[best]) if len(t) else float("nan"))
    auroc = []
    fpr, tpr, _ = multilabel_roc(probabilities, targets, num_labels)
    for j, (x, y) in enumerate(zip(fpr, tpr, strict=True)):
        defined = 0 < positive[:, j].sum() < len(targets)
        auroc.append(abs(torch.trapezoid(y.double(), x.double()).item()) if defined else float("nan"))
    return {
        "support": positive.sum(dim=0).double(),
        "precision": tp / (tp + fp).clamp_min(1),
        "recall": tp / (tp + fn).clamp_min(1),
        "f1": 2 * tp / (2 * tp + fp + fn).clamp_min(1),
        "auroc": torch.tensor(auroc, dtype=torch.float64),
        "best_threshold": torch.tensor(best_threshold, dtype=torch.float64),
        "best_f1": torch.tensor(best_f1, dtype=torch.float64),
        "curves": (fpr, tpr),
    }


class LabelReport(L.Callback):
    """Writes `per_label.csv`, `per_label.png`, `roc.png`; logs `test/per_label`, `test/roc_curves`,
    `test/pr_curve/<label>` and `test/best_threshold/<label>`. Steps without `label_probabilities` are ignored."""

    def __init__(self) -> None:
        self._scores: MultilabelROC | None = None  # only its exact (preds, target) state is used
        self._table: dict[str, Any] | None = None

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._scores, self._table = None, None

    def on_test_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if not isinstance(outputs, dict) or "label_probabilities" not in outputs:
            return
        probabilities = outputs["label_probabilities"].float()
        if self._scores is None:
            self._scores = MultilabelROC(probabilities.shape[-1], thresholds=None).to(probabilities.device)
        self._scores.update(probabilities, outputs["target"])

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._scores is None:
            return
        with self._scores.sync_context():  # collective: every process calls it
            probabilities = dim_zero_cat(self._scores.preds).cpu()
            targets = dim_zero_cat(self._scores.target).cpu()
        self._scores = None
        if trainer.is_global_zero:
            self._table = label_table(probabilities, targets) | {"data": (probabilities, targets)}

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        table, self._table = self._table, None
        if table is None:
            return
        names = class_names(trainer, len(table["support"]))
        columns = ["support", "precision", "recall", "f1", "auroc", "best_threshold", "best_f1"]
        rows = [[name, *(round(table[c][j].item(), 6) for c in columns)] for j, name in enumerate(names)]
        print("Test scores per label (threshold 0.5; best_threshold maximises F1)")
        print("  ".join(["label".ljust(12), *(c.rjust(14) for c in columns)]))
        for row in rows:
            print("  ".join([str(row[0]).ljust(12), *(f"{v:14.4f}" for v in row[1:])]))
        bars = {"precision": table["precision"], "recall": table["recall"], "F1": table["f1"]}
        bar_figure = per_class_figure(bars, names, "test scores per label (threshold 0.5)")
        fpr, tpr = table["curves"]
        curves = {
            name: (fpr[j].double(), tpr[j].double(), table["auroc"][j].item())
            for j, name in enumerate(names)
            if not table["auroc"][j].isnan()
        }
        roc = roc_figure(curves, "test ROC per label")
        writer, step = tensorboard_writer(trainer), trainer.global_step
        if writer is not None:
            probabilities, targets = table["data"]
            for j, name in enumerate(names):
                writer.add_pr_curve(f"test/pr_curve/{name}", targets[:, j], probabilities[:, j], global_step=step)
                writer.add_scalar(f"test/best_threshold/{name}", table["best_threshold"][j].item(), step)
        folder = run_folder(trainer)
        log_figure(writer, "test/per_label", bar_figure, step, folder / "per_label.png" if folder else None)
        log_figure(writer, "test/roc_curves", roc, step, folder / "roc.png" if folder else None)
        if folder is None:
            return
        with (folder / "per_label.csv").open("w", newline="") as file:
            out = csv.writer(file)
            out.writerow(["label", *columns])
            out.writerows(rows)
