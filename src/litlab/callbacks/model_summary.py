"""Lightning's model summary, without the rows for metric objects.

A task holds one torchmetrics object per stage and metric (`val_metrics`, `test_confusion`, ...); they are
modules, so Lightning lists them beside the backbone, with no parameters and nothing to say about the model.
"""

import lightning as L
from lightning.pytorch.callbacks import ModelSummary as LightningModelSummary
from torchmetrics import Metric, MetricCollection


class ModelSummary(LightningModelSummary):
    """The table Lightning prints before training, model layers only (totals are unchanged)."""

    def _summary(self, trainer: L.Trainer, pl_module: L.LightningModule):  # noqa: ANN202 - Lightning's summary type
        summary = super()._summary(trainer, pl_module)
        layers = getattr(summary, "_layer_summary", None)
        if isinstance(layers, dict):
            summary._layer_summary = {
                name: layer
                for name, layer in layers.items()
                if not isinstance(getattr(layer, "_module", None), Metric | MetricCollection)
            }
        return summary
