"""Allow `python -m litlab ...` as an alias of the `litlab` console script."""

from litlab.command.cli import main

main()
