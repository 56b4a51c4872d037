"""The columns of `predictions.csv` and its printed summary, for each kind of task.

Each function takes what the task's `predict_step` returned for every input, in input order, with the labels
the inputs came with (None, or -1 / NaN where an input has none), and returns (header, rows, summary). The
`index`, `input` and `row` columns in front are the prediction writer's.

  classification  label, predicted, probability (of the predicted class), top2, top2_probability, ... top_k
  binary          label, predicted (the positive class when P(positive) >= threshold), probability_<positive>
  multi-label     label and predicted (the labels that are on, joined by ";"), probability_<label> per label
  regression      label[_<target>], prediction[_<target>]: one value column per output, named after the
                  data's `target_names` (a table's target columns) where it has them, else numbered
"""

import math
from collections import Counter
from collections.abc import Sequence

import torch

Columns = tuple[list[str], list[list[object]], str]
SEPARATOR = ";"


def _share(count: int, total: int) -> str:
    return f"{count} ({count / total:.0%})" if total else str(count)


def _distribution(names: list[str]) -> str:
    return ", ".join(f"{name} {_share(n, len(names))}" for name, n in Counter(names).most_common())


def classification(probabilities: torch.Tensor, labels: torch.Tensor | None, names: list[str], top_k: int) -> Columns:
    k = min(top_k, probabilities.shape[1])
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
    summary = f"Predicted classes: {_distribution([names[i] for i in top_i[:, 0].tolist()])}"
    if has_labels:
        known = labels >= 0
        agree = int((top_i[known, 0] == labels[known]).sum())
        summary += f"\nAgrees with the label on {agree} of {int(known.sum())} labeled inputs"
    return header, rows, summary


def binary(probabilities: torch.Tensor, labels: torch.Tensor | None, names: list[str], threshold: float) -> Columns:
    """`names` are (negative, positive); `probabilities` are P(positive), shape (N,) or (N, 1)."""
    p = probabilities.reshape(-1)
    predicted = (p >= threshold).long()
    labels = None if labels is None else labels.reshape(-1)
    has_labels = labels is not None and bool((labels >= 0).any())
    header = [*(["label"] if has_labels else []), "predicted", f"probability_{names[1]}"]
    rows = []
    for row, (on, probability) in enumerate(zip(predicted.tolist(), p.tolist(), strict=True)):
        label = [names[int(labels[row])] if labels[row] >= 0 else ""] if has_labels else []
        rows.append([*label, names[on], f"{probability:.6f}"])
    summary = f"Predicted classes (threshold {threshold:g}): {_distribution([names[i] for i in predicted.tolist()])}"
    if has_labels:
        known = labels >= 0
        agree = int((predicted[known] == labels[known].long()).sum())
        summary += f"\nAgrees with the label on {agree} of {int(known.sum())} labeled inputs"
    return header, rows, summary


def multilabel(
    probabilities: torch.Tensor, labels: torch.Tensor | None, names: list[str], threshold: float | Sequence[float]
) -> Columns:
    """`probabilities` (N, L): each label's own P(on); `labels` (N, L) 0/1 where the inputs have them."""
    p = probabilities.reshape(len(probabilities), -1)
    on = p >= torch.as_tensor(threshold, dtype=p.dtype)
    has_labels = labels is not None and labels.shape == p.shape
    header = [*(["label"] if has_labels else []), "predicted", *(f"probability_{name}" for name in names)]

    def joined(flags: list[bool]) -> str:
        return SEPARATOR.join(name for name, flag in zip(names, flags, strict=True) if flag)

    rows = []
    for row, (flags, values) in enumerate(zip(on.tolist(), p.tolist(), strict=True)):
        label = [joined((labels[row] > 0.5).tolist())] if has_labels else []
        rows.append([*label, joined(flags), *(f"{v:.6f}" for v in values)])
    if isinstance(threshold, int | float):
        rule = f"threshold {threshold:g}"
    else:
        rule = "thresholds " + ", ".join(f"{t:g}" for t in threshold)
    counts = ", ".join(f"{name} {_share(int(n), len(p))}" for name, n in zip(names, on.sum(0).tolist(), strict=True))
    summary = f"Predicted positives per label ({rule}): {counts}; {int((~on.any(1)).sum())} inputs with none"
    if has_labels:
        truth = labels > 0.5
        positives = ", ".join(f"{name} {int(n)}" for name, n in zip(names, truth.sum(0).tolist(), strict=True))
        exact = int((on == truth).all(1).sum())
        summary += f"\nLabeled positives per label: {positives}\nEvery label right on {exact} of {len(p)} inputs"
    return header, rows, summary


def regression(outputs: torch.Tensor, targets: torch.Tensor | None, names: list[str] | None) -> Columns:
    outputs = outputs.reshape(len(outputs), -1)
    width = outputs.shape[1]
    if names is not None and len(names) == width:
        suffixes = [f"_{name}" for name in names]
    else:
        suffixes = [""] if width == 1 else [f"_{j}" for j in range(width)]
    columns = [f"prediction{suffix}" for suffix in suffixes]
    rows = [[f"{v:.6g}" for v in row] for row in outputs.tolist()]
    if (
        targets is not None
        and targets.is_floating_point()
        and targets.numel() == outputs.numel()
        and not bool(targets.isnan().all())
    ):  # loose images carry integer -1 labels: none
        targets = targets.reshape(len(targets), -1).float()
        columns = [f"label{suffix}" for suffix in suffixes] + columns
        rows = [["" if math.isnan(v) else f"{v:.6g}" for v in t] + row for t, row in zip(targets.tolist(), rows,
                                                                                         strict=True)]  # fmt: skip
    stats = ", ".join(
        f"{name}: mean {col.mean():.4g}, min {col.min():.4g}, max {col.max():.4g}"
        for name, col in zip(columns[-width:], outputs.T, strict=True)
    )
    return columns, rows, f"Predicted values: {stats}"
