"""Turn the runs under a log folder into `report.md` (one row per run, best first) and `report.png` (curves)."""

import math
from datetime import datetime
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from litlab.command.errors import LitlabError
from litlab.reporting.runs import Run, find_runs
from litlab.reporting.seed_groups import seed_group_lines
from litlab.reporting.sweeps import sweep_summary_lines

COLUMNS = ["#", "run", "status", "model", "optimizer", "lr", "scheduler", "batch", "epochs", "best val acc"]
COLUMNS += ["best val loss", "test acc", "test f1", "test loss", "wall time", "img/s"]


class NoRunsFound(LitlabError):
    """The log folder holds no run to report on."""


def _number(value: float | None, digits: int = 4) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes // 60}h {minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m {secs:02d}s"


def _short(class_path: object) -> str:
    """`torch.optim.SGD` -> `SGD`; a backbone given as a bare class path string works too."""
    return str(class_path).rsplit(".", 1)[-1] if class_path else "–"


def sort_key(run: Run) -> tuple[float, float]:
    """Best validation accuracy first; runs without one by test accuracy; runs with neither last."""
    val, test = run.best("val/acc"), run.test_metric("test/acc")
    return (-(val if val is not None else -1.0), -(test if test is not None else -1.0))


def row(rank: int, run: Run) -> list[str]:
    backbone = run.option("model", "backbone")
    optimizer = run.option("model", "optimizer")
    scheduler = run.option("model", "scheduler")
    max_epochs = run.option("trainer", "max_epochs")
    tested = f" (tested in {run.test_run.path.name})" if run.test_run else ""
    return [
        str(rank),
        f"`{run.name}`",
        run.status + tested,
        _short(backbone.get("class_path") if isinstance(backbone, dict) else backbone),
        _short(optimizer.get("class_path") if isinstance(optimizer, dict) else optimizer),
        str(run.option("model", "optimizer", "lr") or "–"),
        _short(scheduler.get("class_path") if isinstance(scheduler, dict) else scheduler),
        str(run.option("data", "batch_size") or "–"),
        "–" if run.is_test_only else f"{run.epochs_done}/{max_epochs}" if max_epochs else str(run.epochs_done),
        _number(run.best("val/acc")),
        _number(run.best("val/loss", mode="min")),
        _number(run.test_metric("test/acc")),
        _number(run.test_metric("test/f1")),
        _number(run.test_metric("test/loss")),
        _duration(run.wall_seconds),
        _number(run.images_per_s, 0),
    ]


def markdown(runs: list[Run], skipped: list[Path], root: Path) -> str:
    lines = [
        f"# litlab report: {root}",
        "",
        f"{len(runs)} run(s), best validation accuracy first; generated {datetime.now():%Y-%m-%d %H:%M}.",
        "Test metrics come from the run's latest `litlab test` of one of its checkpoints (or its own test scalars).",
        "Status: finished / failed (recorded at the end of the run), incomplete (fewer epochs than max_epochs and",
        "no end record: still running or killed), test only (its checkpoint's training run is not here),",
        "no metrics, no events file, unreadable.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(row(i, run)) + " |" for i, run in enumerate(runs, start=1)]
    if skipped:
        lines += ["", "Empty folders skipped: " + ", ".join(f"`{path.relative_to(root)}`" for path in skipped)]
    lines += ["", *seed_group_lines(runs), *sweep_summary_lines(root)]  # both empty without seeds or sweeps
    return "\n".join(lines + ["", "![curves](report.png)", ""])


def _epoch_axis(run: Run, steps: list[int]) -> np.ndarray:
    """Map global steps to epochs, using the steps at which validation ended epoch 1, 2, ..."""
    ends = [step for step, _, _ in run.scalars.get("val/loss", [])]
    if not ends:
        return np.arange(1, len(steps) + 1, dtype=float)
    return np.interp(steps, [0, *ends], range(len(ends) + 1))


def curves_figure(runs: list[Run]) -> Figure:
    """Validation accuracy, and validation (solid) and training (dashed) loss, per epoch for every run."""
    fig = Figure(figsize=(13, 5), layout="constrained")
    acc_ax, loss_ax = fig.subplots(1, 2)
    palette = matplotlib.colormaps["tab20" if len(runs) > 10 else "tab10"]
    colors = [palette(i % palette.N) for i in range(len(runs))]
    for run, color in zip(runs, colors, strict=True):
        for ax, tag, style in ((acc_ax, "val/acc", "-"), (loss_ax, "val/loss", "-"), (loss_ax, "train/loss", "--")):
            series = run.scalars.get(tag)
            if series:
                steps = [step for step, _, _ in series]
                label = run.name if style == "-" else None
                ax.plot(
                    _epoch_axis(run, steps),
                    [v for _, v, _ in series],
                    style,
                    color=color,
                    label=label,
                    marker="o" if style == "-" else None,
                    markersize=3,
                )
    for ax, title in ((acc_ax, "validation accuracy"), (loss_ax, "loss (solid: validation, dashed: training)")):
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    handles = {label: h for ax in (acc_ax, loss_ax) for h, label in zip(*ax.get_legend_handles_labels(), strict=True)}
    if handles:
        fig.legend(handles.values(), handles.keys(), loc="outside right upper", fontsize="small")
    return fig


def write_report(root: Path | str) -> tuple[Path, Path]:
    """Write `<root>/report.md` and `<root>/report.png`; raise NoRunsFound when there is nothing to report."""
    root = Path(root)
    if not root.is_dir():
        raise NoRunsFound(f"{root} does not exist: train something first (make demo), or pass --logdir")
    runs, skipped = find_runs(root)
    if not runs:
        raise NoRunsFound(f"no runs under {root}: no folder there holds a config.yaml or an events file")
    runs.sort(key=sort_key)
    markdown_path, figure_path = root / "report.md", root / "report.png"
    markdown_path.write_text(markdown(runs, skipped, root))
    curves_figure(runs).savefig(figure_path, dpi=100)
    return markdown_path, figure_path
