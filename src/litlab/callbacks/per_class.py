"""Per-class accuracy, precision and F1 after testing: one scalar per class and metric, plus a bar chart.

The scores come from the test confusion matrix the task already computed (synced across processes),
so they agree exactly with the macro figures: the mean of the per-class accuracies is `test/recall`.
"""

import lightning as L
import torch

from litlab.callbacks.figure_output import log_figure
from litlab.callbacks.figures import per_class_figure
from litlab.callbacks.lookup import class_names, tensorboard_writer


def per_class_scores(matrix: torch.Tensor) -> dict[str, torch.Tensor]:
    """From a (true, predicted) count matrix: support, accuracy (= recall), precision and F1 per class.

    A class never predicted (or never present) scores 0 where the ratio is undefined, as torchmetrics does.
    """
    matrix = matrix.double()
    hits = matrix.diagonal()
    support = matrix.sum(dim=1)
    predicted = matrix.sum(dim=0)
    return {
        "support": support,
        "acc": hits / support.clamp_min(1),
        "precision": hits / predicted.clamp_min(1),
        "f1": 2 * hits / (support + predicted).clamp_min(1),
    }


class PerClassMetrics(L.Callback):
    """Logs `test/{acc,precision,f1}_per_class/<class name>` scalars and a `test/per_class` bar chart."""

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        matrix = getattr(pl_module, "confusion", {}).get("test")
        writer = tensorboard_writer(trainer)
        if matrix is None or writer is None:
            return
        names = class_names(trainer, len(matrix))
        scores = per_class_scores(matrix.cpu())
        step = trainer.global_step
        for metric in ("acc", "precision", "f1"):
            for name, value in zip(names, scores[metric].tolist(), strict=True):
                writer.add_scalar(f"test/{metric}_per_class/{name}", value, global_step=step)
        bars = {"accuracy": scores["acc"], "precision": scores["precision"], "F1": scores["f1"]}
        figure = per_class_figure(bars, names, f"test scores per class ({int(scores['support'].sum())} samples)")
        log_figure(writer, "test/per_class", figure, step)
