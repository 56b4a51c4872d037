"""`--run_name NAME`: a readable name for a run, instead of the config's experiment name.

Two runs of one config that differ on the command line (`--model.init_args.backbone SimpleCNN`, another
optimizer) would otherwise both be `logs/<config>/version_N` and look alike in TensorBoard and `make report`.
`--run_name simple_cnn_adam` sets the TensorBoard logger's `name`: the run is `logs/simple_cnn_adam/version_0`,
listed under that name everywhere, and `--run_name simple_cnn_adam --ckpt_path last` continues it. The saved
config.yaml holds the name, so re-running or resuming it keeps it.
"""

import re

from jsonargparse import Namespace
from lightning.pytorch.cli import LightningArgumentParser

from litlab.command.errors import ConfigError

ALLOWED = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+=-]*")


def add_run_name_argument(parser: LightningArgumentParser) -> None:
    parser.add_argument(
        "--run_name",
        type=str | None,
        default=None,
        help="Name the run: logs/<run_name>/version_N (sets trainer.logger.init_args.name; default: the config's).",
    )


def apply_run_name(config: Namespace) -> None:
    """Put `config.run_name`, when given, into the logger's `name`; before `--ckpt_path last` is resolved."""
    name = config.get("run_name")
    if not name:
        return
    if not ALLOWED.fullmatch(name):
        raise ConfigError(
            f"--run_name {name!r}: use letters, digits and _ . + = - (it becomes a folder name), e.g. sgd_lr0.1."
        )
    logger = config.trainer.get("logger")
    init_args = logger.get("init_args") if isinstance(logger, Namespace) else None
    if init_args is None or "name" not in init_args:
        raise ConfigError("--run_name sets trainer.logger's name, and this config's logger has no `name` option.")
    init_args.name = name
