"""Compare runs outside TensorBoard: a markdown table and overlaid curves of every run under `logs/`."""

from litlab.reporting.render import NoRunsFound, write_report
from litlab.reporting.runs import Run, find_runs

__all__ = ["NoRunsFound", "Run", "find_runs", "write_report"]
