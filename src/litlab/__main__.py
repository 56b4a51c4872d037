"""Allow `python -m litlab ...` as an alias of the `litlab` console script."""

from litlab.command.entry import main

main()
