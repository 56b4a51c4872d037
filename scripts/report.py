"""Summarise every run under a log folder in `<logdir>/report.md` and `<logdir>/report.png`.

    python scripts/report.py                 # reads logs/
    python scripts/report.py --logdir runs/

One table row per run (hyperparameters, best val accuracy, test metrics, epochs, wall time, images/s),
best first, and validation accuracy / loss curves of all runs overlaid. Exits with status 1 and a
message when the folder holds no run. See `litlab.reporting`.
"""

import argparse
import sys

from litlab.reporting import NoRunsFound, write_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logdir", default="logs", help="folder holding the runs (default: logs)")
    args = parser.parse_args()
    try:
        markdown_path, figure_path = write_report(args.logdir)
    except NoRunsFound as error:
        sys.exit(f"report: {error}")
    print(f"table:  {markdown_path}\ncurves: {figure_path}")


if __name__ == "__main__":
    main()
