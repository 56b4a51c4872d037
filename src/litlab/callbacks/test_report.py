"""After `litlab test`, leave the evaluation beside the run's logs as plain files, and print it.

Files in the logger's run folder (`trainer.log_dir`): `test_metrics.json` (every `test/` metric
plus the checkpoint evaluated, for every task), and for tasks with a confusion matrix
`confusion_matrix.png` (row-normalised), `confusion_matrix.csv` (counts) and `per_class.csv`
(support, precision, recall, F1 per class). They can be diffed,
pasted into a paper or read by scripts without TensorBoard.
"""

import csv
import json
from pathlib import Path

import lightning as L
import torch

from litlab.callbacks.confusion_figure import confusion_pixels, confusion_title
from litlab.callbacks.figure_output import save_pixels
from litlab.callbacks.lookup import class_names, run_folder
from litlab.callbacks.per_class import per_class_scores


def format_confusion(matrix: torch.Tensor, names: list[str]) -> str:
    """Rows are true classes, columns predicted; every column is as wide as its full class name or count."""
    label = "true \\ pred"
    first = max(len(label), *(len(name) for name in names)) + 2
    widths = [max(len(name), len(str(int(matrix[:, i].max())))) + 2 for i, name in enumerate(names)]
    lines = [label.ljust(first) + "".join(n.rjust(w) for n, w in zip(names, widths, strict=True))]
    for name, row in zip(names, matrix.tolist(), strict=True):
        lines.append(name.ljust(first) + "".join(str(int(v)).rjust(w) for v, w in zip(row, widths, strict=True)))
    return "\n".join(lines)


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)


class TestReport(L.Callback):
    """Writes the test metrics, confusion matrix and per-class table to files, and prints the matrix.

    Without a logger there is no run folder, so only the console output remains.
    """

    __test__ = False  # not a pytest test class despite the name

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        matrix = getattr(pl_module, "confusion", {}).get("test")  # None for tasks without one (multi-label)
        folder = run_folder(trainer)
        if folder is not None:
            metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("test/")}
            ckpt_path = str(Path(trainer.ckpt_path).resolve()) if trainer.ckpt_path else None
            samples = None if matrix is None else int(matrix.sum())
            summary = {"metrics": metrics, "num_samples": samples, "ckpt_path": ckpt_path}
            (folder / "test_metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
        if matrix is None:
            return
        matrix = matrix.cpu()
        names = class_names(trainer, len(matrix))
        print("Test confusion matrix\n" + format_confusion(matrix, names))
        if folder is None:
            return

        scores = per_class_scores(matrix)
        scores["recall"] = scores["acc"]
        columns = ["precision", "recall", "f1"]
        rows = [
            [name, int(scores["support"][i]), *(round(scores[c][i].item(), 6) for c in columns)]
            for i, name in enumerate(names)
        ]
        write_csv(folder / "per_class.csv", ["class", "support", *columns], rows)
        counts = [[name, *row] for name, row in zip(names, matrix.tolist(), strict=True)]
        write_csv(folder / "confusion_matrix.csv", ["true \\ pred", *names], counts)

        pixels = confusion_pixels(matrix, names, confusion_title("test", matrix))  # drawn once for TensorBoard too
        save_pixels(pixels, folder / "confusion_matrix.png")
        print(f"Test report written to {folder}: test_metrics.json, per_class.csv, confusion_matrix.png/.csv")
