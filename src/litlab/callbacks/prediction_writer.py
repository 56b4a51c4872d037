"""`litlab predict` writes what it predicted: one CSV row per input, in input order, and a short summary.

Lightning's `BasePredictionWriter` hands over every batch's predictions with their dataset indices. Each
process keeps its share; at the end of the epoch the shares are gathered on rank 0, ordered by index and
written once, so under DDP every input appears exactly once (Lightning shards predict loaders without repeats).

Columns:
  index                   the input's position in the predicted set (dataset index)
  input                   the file it came from, where the data module knows (`predict_input_names`)
  row                     the row of that file, for tables (`predict_input_rows`; data rows counted from 0)
  then the task's own columns (`litlab.callbacks.prediction_columns`): for classification the label where the
  data has one, the predicted class and its probability, and the next classes up to `top_k`; for binary and
  multi-label classification the predicted class or labels and the probabilities; for regression the values.
"""

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.distributed
from lightning.pytorch.callbacks import BasePredictionWriter

from litlab.callbacks import prediction_columns
from litlab.callbacks.lookup import class_names, run_folder
from litlab.tasks.binary import BinaryClassificationTask
from litlab.tasks.multilabel import MultilabelClassificationTask

FILE_NAME = "predictions.csv"
SHOWN_SKIPPED = 20


class PredictionWriter(BasePredictionWriter):
    """Writes `predictions.csv` (into the run folder unless `output` says where) and prints a summary.

    Args:
        output: a file, or a folder to write `predictions.csv` into; default: the logger's run folder, which
            for `litlab predict --ckpt_path <run>/checkpoints/x.ckpt` is `<run>`.
        top_k: how many of the most probable classes each row lists (classification).
    """

    def __init__(self, output: str | Path | None = None, top_k: int = 3) -> None:
        super().__init__(write_interval="batch")
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        self.output, self.top_k = output, top_k
        self.path: Path | None = None  # where the last predictions were written
        self._parts: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]] = []
        self._report = ""  # the summary, printed once the progress bar is closed

    def on_predict_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._parts = []

    def write_on_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        prediction: Any,
        batch_indices: Sequence[int] | None,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int,
    ) -> None:
        if batch_indices is None:  # a loader that is not a DataLoader: Lightning tracks no indices
            start = sum(len(part[0]) for part in self._parts)
            batch_indices = range(start, start + len(prediction))
        labels = batch[1] if isinstance(batch, list | tuple) and len(batch) > 1 else None
        self._parts.append(
            (
                torch.as_tensor(list(batch_indices), dtype=torch.long),
                prediction.detach().float().cpu(),
                None if labels is None else labels.detach().cpu(),
            )
        )

    def on_predict_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        parts = self._parts
        self._parts = []
        if trainer.world_size > 1 and torch.distributed.is_initialized():
            shares: list[Any] = [None] * trainer.world_size
            torch.distributed.all_gather_object(shares, parts)
            parts = [part for share in shares for part in share]
        if not trainer.is_global_zero or not parts:
            return
        indices = torch.cat([p[0] for p in parts])
        outputs = torch.cat([p[1] for p in parts])
        labels = torch.cat([p[2] for p in parts]) if all(p[2] is not None for p in parts) else None
        indices, first = _first_of_each(indices)
        outputs, labels = outputs[first], None if labels is None else labels[first]
        identity = {}
        for column, attribute in (("input", "predict_input_names"), ("row", "predict_input_rows")):
            if values := getattr(trainer.datamodule, attribute, None):
                identity[column] = [values[i] for i in indices.tolist()]
        header, rows, summary = self._columns(trainer, pl_module, outputs, labels)
        self.path = self._destination(trainer)
        write_rows(self.path, header, rows, indices.tolist(), identity)
        skipped = getattr(trainer.datamodule, "skipped", None) or []
        self._report = f"Predictions for {len(indices)} inputs written to {self.path}\n{summary}" + _skipped_lines(
            skipped
        )

    def on_predict_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Printed here, after the progress bar's own on_predict_end has closed the bar (it comes earlier in the
        # callback list), so that the summary does not land in the middle of the bar's line.
        if self._report:
            print(self._report)
            self._report = ""

    def _destination(self, trainer: L.Trainer) -> Path:
        if self.output is None:
            folder = run_folder(trainer) or Path(trainer.default_root_dir)
            return folder / FILE_NAME
        path = Path(self.output)
        path = path / FILE_NAME if path.is_dir() or str(self.output).endswith(("/", "\\")) else path
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def _columns(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: torch.Tensor, labels: torch.Tensor | None
    ) -> prediction_columns.Columns:
        """The task's own columns and summary: by the kind of task, its threshold where it has one."""
        threshold = getattr(pl_module, "threshold", 0.5)
        if isinstance(pl_module, BinaryClassificationTask):
            return prediction_columns.binary(outputs, labels, class_names(trainer, 2), threshold)
        if isinstance(pl_module, MultilabelClassificationTask):
            names = class_names(trainer, pl_module.num_labels)
            return prediction_columns.multilabel(outputs, labels, names, threshold)
        if "num_classes" in pl_module.hparams:
            names = class_names(trainer, outputs.shape[1])
            return prediction_columns.classification(outputs, labels, names, self.top_k)
        return prediction_columns.regression(outputs, labels, getattr(trainer.datamodule, "target_names", None))


def _first_of_each(indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The sorted unique indices and, for each, the position of its first occurrence (a repeat is dropped)."""
    order = torch.argsort(indices, stable=True)
    ordered = indices[order]
    keep = torch.ones_like(ordered, dtype=torch.bool)
    keep[1:] = ordered[1:] != ordered[:-1]
    return ordered[keep], order[keep]


def write_rows(
    path: Path, header: list[str], rows: list[list[object]], indices: list[int], identity: dict[str, list[object]]
) -> None:
    """The CSV: index (and the `identity` columns: input, row) first, then the prediction's own columns."""
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["index", *identity, *header])
        for position, (index, cells) in enumerate(zip(indices, rows, strict=True)):
            writer.writerow([index, *(values[position] for values in identity.values()), *cells])


def _skipped_lines(skipped: list[tuple[str, str]]) -> str:
    if not skipped:
        return ""
    lines = [f"\nSkipped {len(skipped)} inputs that could not be used:"]
    lines += [f"  {reason}" for _, reason in skipped[:SHOWN_SKIPPED]]
    if len(skipped) > SHOWN_SKIPPED:
        lines.append(f"  ... and {len(skipped) - SHOWN_SKIPPED} more")
    return "\n".join(lines)
