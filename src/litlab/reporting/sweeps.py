"""The report's "Sweeps" section: each `litlab sweep` folder's own summary (trials, states, best value, parameters)."""

from pathlib import Path

SUMMARY_FILE = "sweep_summary.md"  # written by litlab.sweep.artifacts


def sweep_summary_lines(root: Path) -> list[str]:
    """Every sweep summary under `root`, its links made relative to `root`; empty when there is no sweep."""
    lines = []
    for path in sorted(root.rglob(SUMMARY_FILE)):
        folder = path.parent.relative_to(root).as_posix()
        lines += [path.read_text().replace("](", f"]({folder}/"), ""]
    return ["## Sweeps", "", *lines] if lines else []
