"""The `litlab` console script: `litlab sweep ...` runs an Optuna sweep over `litlab fit` runs (litlab.sweep);
anything else goes to the LightningCLI (litlab.command.cli). Routing here, not in cli.py, keeps the sweep,
which builds its trials with cli.build_cli, from importing the module that imports it."""

import sys

from litlab.command.cli import main as cli_main
from litlab.command.cli import run_reporting_errors


def main(args: list[str] | None = None) -> None:
    words = sys.argv[1:] if args is None else args
    if words[:1] == ["sweep"]:  # not a LightningCLI subcommand
        from litlab.sweep.command import main as sweep  # Optuna is an extra: only a sweep imports it

        run_reporting_errors(lambda: sweep(words[1:]))
    else:
        cli_main(args)
