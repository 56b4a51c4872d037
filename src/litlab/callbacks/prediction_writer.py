"""`litlab predict` writes what it predicted: one CSV row per input, in input order, and a short summary.

Lightning's `BasePredictionWriter` hands over every batch's predictions with their dataset indices. Each
process keeps its share; at the end of the epoch the shares are gathered on rank 0, ordered by index and
written once, so under DDP every input appears exactly once (Lightning shards predict loaders without repeats).

Columns:
  index                   the input's position in the predicted set (dataset index; CSV row for tables)
  input                   the file it came from, where the data module knows (`predict_input_names`)
  label                   the true class (classification) or target(s) (regression), where the data has them
  predicted, probability  the most probable class and its probability
  top2, top2_probability  ... up to `top_k`
  prediction[_j]          regression: the predicted value of each output
"""

import csv
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.distributed
from lightning.pytorch.callbacks import BasePredictionWriter

from litlab.callbacks.lookup import class_names, run_folder

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
        names = getattr(trainer.datamodule, "predict_input_names", None) or None
        inputs = [names[i] for i in indices.tolist()] if names is not None else None
        if "num_classes" in pl_module.hparams:
            header, rows, summary = self._classification(trainer, outputs, labels)
        else:
            header, rows, summary = _regression(outputs, labels)
        self.path = self._destination(trainer)
        write_rows(self.path, header, rows, indices.tolist(), inputs)
        skipped = getattr(trainer.datamodule, "skipped", None) or []
        print(f"Predictions for {len(indices)} inputs written to {self.path}\n{summary}" + _skipped_lines(skipped))

    def _destination(self, trainer: L.Trainer) -> Path:
        if self.output is None:
            folder = run_folder(trainer) or Path(trainer.default_root_dir)
            return folder / FILE_NAME
        path = Path(self.output)
        path = path / FILE_NAME if path.is_dir() or str(self.output).endswith(("/", "\\")) else path
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def _classification(
        self, trainer: L.Trainer, probabilities: torch.Tensor, labels: torch.Tensor | None
    ) -> tuple[list[str], list[list[object]], str]:
        names = class_names(trainer, probabilities.shape[1])
        k = min(self.top_k, probabilities.shape[1])
        top_p, top_i = probabilities.topk(k, dim=1)
        has_labels = labels is not None and bool((labels >= 0).any())
        header = ["label"] if has_labels else []
        header += ["predicted", "probability"]
        header += [f"top{rank}{suffix}" for rank in range(2, k + 1) for suffix in ("", "_probability")]
        rows = []
        for row, (p, i) in enumerate(zip(top_p.tolist(), top_i.tolist(), strict=True)):
            cells: list[object] = []
            if has_labels:
                cells.append(names[int(labels[row])] if labels[row] >= 0 else "")
            for probability, index in zip(p, i, strict=True):
                cells += [names[index], f"{probability:.6f}"]
            rows.append(cells)
        counts = Counter(names[i] for i in top_i[:, 0].tolist())
        total = len(top_i)
        distribution = ", ".join(f"{name} {n} ({n / total:.0%})" for name, n in counts.most_common())
        summary = f"Predicted classes: {distribution}"
        if has_labels:
            known = labels >= 0
            agree = int((top_i[known, 0] == labels[known]).sum())
            summary += f"\nAgrees with the label on {agree} of {int(known.sum())} labeled inputs"
        return header, rows, summary


def _first_of_each(indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The sorted unique indices and, for each, the position of its first occurrence (a repeat is dropped)."""
    order = torch.argsort(indices, stable=True)
    ordered = indices[order]
    keep = torch.ones_like(ordered, dtype=torch.bool)
    keep[1:] = ordered[1:] != ordered[:-1]
    return ordered[keep], order[keep]


def _regression(outputs: torch.Tensor, targets: torch.Tensor | None) -> tuple[list[str], list[list[object]], str]:
    outputs = outputs.reshape(len(outputs), -1)
    width = outputs.shape[1]
    columns = ["prediction"] if width == 1 else [f"prediction_{j}" for j in range(width)]
    rows = [[f"{v:.6g}" for v in row] for row in outputs.tolist()]
    if targets is not None:
        targets = targets.reshape(len(targets), -1).float()
        columns = (["label"] if targets.shape[1] == 1 else [f"label_{j}" for j in range(targets.shape[1])]) + columns
        rows = [[f"{v:.6g}" for v in t] + row for t, row in zip(targets.tolist(), rows, strict=True)]
    stats = ", ".join(
        f"{name}: mean {col.mean():.4g}, min {col.min():.4g}, max {col.max():.4g}"
        for name, col in zip(columns[-width:], outputs.T, strict=True)
    )
    return columns, rows, f"Predicted values: {stats}"


def write_rows(
    path: Path, header: list[str], rows: list[list[object]], indices: list[int], inputs: list[str] | None
) -> None:
    """The CSV: index (and input) first, then the prediction's own columns."""
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["index", *(["input"] if inputs else []), *header])
        for position, (index, cells) in enumerate(zip(indices, rows, strict=True)):
            writer.writerow([index, *([inputs[position]] if inputs else []), *cells])


def _skipped_lines(skipped: list[tuple[str, str]]) -> str:
    if not skipped:
        return ""
    lines = [f"\nSkipped {len(skipped)} inputs that could not be used:"]
    lines += [f"  {reason}" for _, reason in skipped[:SHOWN_SKIPPED]]
    if len(skipped) > SHOWN_SKIPPED:
        lines.append(f"  ... and {len(skipped) - SHOWN_SKIPPED} more")
    return "\n".join(lines)
