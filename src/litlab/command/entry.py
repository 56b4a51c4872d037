"""The `litlab` console script: `litlab sweep ...` runs an Optuna sweep over `litlab fit` runs (litlab.sweep);
anything else goes to the LightningCLI (litlab.command.cli). Routing here, not in cli.py, keeps the sweep,
which builds its trials with cli.build_cli, from importing the module that imports it. The help, a call with
no subcommand and a missing --config file are answered before torch is imported (litlab.command.early_exit)."""

import sys

from litlab.command.early_exit import answer_early


def main(args: list[str] | None = None) -> None:
    words = sys.argv[1:] if args is None else args
    status = answer_early(words)
    if status is not None:
        sys.exit(status)
    from litlab.command.cli import main as cli_main  # torch and Lightning: seconds; only what needs them pays
    from litlab.command.cli import run_reporting_errors

    if words[:1] == ["sweep"]:  # not a LightningCLI subcommand
        from litlab.sweep.command import main as sweep  # Optuna is an extra: only a sweep imports it

        run_reporting_errors(lambda: sweep(words[1:]))
    else:
        cli_main(args)
