"""The one place the speed benchmarks import litlab from: its command-line entry point and a few helpers.

Runs are built by `build_cli`, i.e. by exactly the parsing and config stacking of the `litlab` command; the
benchmarks never assemble configs or instantiate classes themselves.
"""

from litlab.benchmarks.results import environment_markdown, markdown_table, read_section, write_section
from litlab.benchmarks.time_to_accuracy import AccuracyByTime, Point, eval_folder
from litlab.cli import build_cli
from litlab.cpu_precision import cpu_capability

__all__ = [
    "AccuracyByTime",
    "Point",
    "build_cli",
    "cpu_capability",
    "environment_markdown",
    "eval_folder",
    "markdown_table",
    "read_section",
    "write_section",
]
