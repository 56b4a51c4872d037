"""The one place the speed benchmarks import litlab from (its CLI and CPU-capability line), and the shared
benchmark helpers they reuse (results file, per-epoch clock, the folder that scores the test set).

Runs are built by `build_cli`, i.e. by exactly the parsing and config stacking of the `litlab` command; the
benchmarks never assemble configs or instantiate classes themselves.
"""

from benchmarks.results import environment_markdown, markdown_table, read_section, write_section
from benchmarks.time_to_accuracy import AccuracyByTime, Point, eval_folder
from litlab.command.cli import build_cli
from litlab.models import AirbenchNet
from litlab.models.airbench_net import Norm
from litlab.runtime.cpu_precision import cpu_capability

__all__ = [
    "AccuracyByTime",
    "AirbenchNet",
    "Norm",
    "Point",
    "build_cli",
    "cpu_capability",
    "environment_markdown",
    "eval_folder",
    "markdown_table",
    "read_section",
    "write_section",
]
