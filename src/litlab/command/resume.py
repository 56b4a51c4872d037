"""`make resume`: continue the training run under a log folder written to most recently (any experiment).

    python -m litlab.command.resume [--logs DIR] [litlab fit overrides...]

The run is resumed with its own `config.yaml` and `--ckpt_path last` (see `litlab.runs.resume`).
"""

import argparse
import sys
from pathlib import Path

from litlab.command.cli import main as litlab_main
from litlab.runs.folders import last_written_run, version_of


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m litlab.command.resume", description=__doc__.split("\n\n")[0])
    parser.add_argument("--logs", type=Path, default=Path("logs"), help="folder holding <experiment>/<version>/")
    known, overrides = parser.parse_known_args(argv)
    run = last_written_run(known.logs)
    if run is None:
        sys.exit(f"litlab: error: no run with a config.yaml under {known.logs}/; nothing to resume.")
    print(f"litlab: resuming {run}", file=sys.stderr)
    version = ["--trainer.logger.init_args.version", str(version_of(run))]
    litlab_main(["fit", "--config", str(run / "config.yaml"), *version, "--ckpt_path", "last", *overrides])


if __name__ == "__main__":
    main()
