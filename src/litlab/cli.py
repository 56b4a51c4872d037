"""The `litlab` command: Lightning's own LightningCLI, with the data's shape linked into the task.

    litlab fit --config configs/cifar10_cnn.yaml --trainer.max_epochs 3
    litlab test --config configs/cifar10_cnn.yaml --ckpt_path logs/.../last.ckpt

Errors that are the user's to fix (`LitlabError`) print as one short message; set LITLAB_DEBUG=1 for
the full traceback.
"""

import os
import sys

from lightning.pytorch import LightningDataModule, LightningModule
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from litlab.errors import LitlabError


class LitlabCLI(LightningCLI):
    """LightningCLI whose task gets `input_shape` and `num_classes`/`num_outputs` from the data module."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        # A link whose attribute the data module lacks (num_outputs on a classification set) is skipped.
        for name in ("input_shape", "num_classes", "num_outputs"):
            parser.link_arguments(f"data.{name}", f"model.init_args.{name}", apply_on="instantiate")


def build_cli(args: list[str] | None = None, run: bool = True) -> LitlabCLI:
    """The CLI exactly as `litlab` builds it; `run=False` only parses and instantiates (for tests and scripts)."""
    return LitlabCLI(
        LightningModule,
        LightningDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        auto_configure_optimizers=False,  # tasks take optimizer and scheduler as their own arguments
        save_config_kwargs={"overwrite": True},
        parser_kwargs={"allow_abbrev": False},  # a typo such as --trainer.max_epoch must fail, not match a prefix
        args=args,
        run=run,
    )


def main(args: list[str] | None = None) -> None:
    try:
        build_cli(args)
    except LitlabError as error:
        if os.environ.get("LITLAB_DEBUG"):
            raise
        print(f"litlab: error: {error}\n(set LITLAB_DEBUG=1 for the full traceback)", file=sys.stderr)
        sys.exit(2)
