"""What `litlab` answers before it imports torch and Lightning, which takes seconds: `litlab --help`, `litlab`
alone, and a `--config` file that does not exist. Everything else (`litlab fit --help` included, which needs
Lightning's signatures) goes to the LightningCLI. The start-up times are in benchmarks/RESULTS.md.
"""

import sys
from pathlib import Path

# Each a whole sentence: the LightningCLI's own list cuts Lightning's docstrings mid-sentence.
SUBCOMMANDS = {
    "fit": "Train a model; then test its best checkpoint when the data has a test split.",
    "validate": "Score a checkpoint on the validation set.",
    "test": "Score a checkpoint on the test set; prints every test metric and the confusion matrix.",
    "predict": "Run a checkpoint over the data module's predict loader.",
    "sweep": "Run an Optuna search, or one config over several seeds, as `litlab fit` runs.",
}
CONFIG_SUFFIXES = (".yaml", ".yml", ".json")


def top_level_help() -> str:
    width = max(map(len, SUBCOMMANDS))
    rows = "\n".join(f"  {name:<{width}}  {text}" for name, text in SUBCOMMANDS.items())
    return (
        f"usage: litlab {{{','.join(SUBCOMMANDS)}}} [--config FILE ...] [options]\n\n"
        "litlab: Lightning's LightningCLI with litlab's shared defaults (src/litlab/command/defaults.yaml).\n\n"
        f"subcommands (`litlab <subcommand> --help` lists its options):\n{rows}\n\n"
        "example:\n  litlab fit --config configs/synthetic_mlp.yaml --trainer.max_epochs 3\n"
    )


def missing_config(words: list[str]) -> Path | None:
    """The first `--config`/`-c` file named in `words` that does not exist (a YAML string given inline is not a
    file name and is left to the parser)."""
    for index, word in enumerate(words):
        if word.startswith("--config="):
            value = word.split("=", 1)[1]
        elif word in ("--config", "-c") and index + 1 < len(words):
            value = words[index + 1]
        else:
            continue
        if value.endswith(CONFIG_SUFFIXES) and not Path(value).exists():
            return Path(value).resolve()
    return None


def answer_early(words: list[str]) -> int | None:
    """Print the answer for `words` (argv without the program) when it needs no Lightning; its exit status, or
    None when the LightningCLI must answer."""
    if words in (["--help"], ["-h"]):
        print(top_level_help(), end="")
        return 0
    if not words:
        print(f"{top_level_help()}\nlitlab: error: name a subcommand: {', '.join(SUBCOMMANDS)}.", file=sys.stderr)
        return 2
    if words[0] in SUBCOMMANDS and words[0] != "sweep" and (missing := missing_config(words)) is not None:
        print(f"litlab: error: --config: there is no file '{missing}'.", file=sys.stderr)
        return 2
    return None
