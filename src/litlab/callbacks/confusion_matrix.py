"""Print the test confusion matrix with class names, next to Lightning's own table of test metrics."""

import lightning as L
import torch


def format_confusion(matrix: torch.Tensor, class_names: list[str]) -> str:
    """Rows are true classes, columns predicted; names are cut to 8 characters to keep rows short."""
    names = [name[:8] for name in class_names]
    width = max(8, len(str(int(matrix.max()))) + 1)
    lines = ["true \\ pred".ljust(12) + "".join(n.rjust(width) for n in names)]
    for name, row in zip(names, matrix.tolist(), strict=True):
        lines.append(name.ljust(12) + "".join(str(int(v)).rjust(width) for v in row))
    return "\n".join(lines)


class PrintConfusionMatrix(L.Callback):
    """After `test`, prints `pl_module.confusion['test']`, labelled with the data module's class names."""

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        matrix = getattr(pl_module, "confusion", {}).get("test")
        if matrix is None or not trainer.is_global_zero:
            return
        names = getattr(trainer.datamodule, "class_names", None) or [str(i) for i in range(len(matrix))]
        print("Test confusion matrix\n" + format_confusion(matrix.cpu(), names))
