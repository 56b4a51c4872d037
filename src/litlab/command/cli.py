"""The `litlab` command: Lightning's own LightningCLI, with the data's shape linked into the task.

    litlab fit --config configs/cifar10_cnn.yaml --trainer.max_epochs 3
    litlab fit --config configs/cifar10_cnn.yaml --ckpt_path last     # continue the newest run, in its folder
    litlab test --config configs/cifar10_cnn.yaml --ckpt_path logs/.../last.ckpt
    litlab predict --config <run>/config.yaml --ckpt_path <run>/checkpoints/last.ckpt [--inputs images/]

On top of LightningCLI: `--ckpt_path last` resumes the newest run of the experiment into the same run
folder (`litlab.runs.resume`); checkpoints are written atomically and loaded weights-only
(`litlab.checkpoints.io`); a checkpoint that does not exist, cannot be read or belongs to another model
or data is refused before training (`litlab.checkpoints.match`); config mistakes (unknown key, wrong
type, non-positive learning rate or batch size) are reported in a line or two with the closest valid
key (`litlab.command.config_errors`). Errors that are the user's to fix (`LitlabError`) print as a short
message and exit with status 2; set LITLAB_DEBUG=1 for the full traceback. `predict` writes predictions.csv
(`litlab.callbacks.prediction_writer`) for the config's test split, or for new images given with `--inputs`
(`litlab.data.loose_images`).
"""

import contextlib
import io
import os
import sys
from argparse import ArgumentError
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch.distributed
import yaml
from jsonargparse import Namespace
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch import LightningDataModule, LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint, ModelSummary, ProgressBar
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI, SaveConfigCallback
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.plugins.io import CheckpointIO
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

import litlab.runtime.distributed  # noqa: F401 - registers `strategy: ddp_litlab`
from litlab.callbacks.prediction_writer import PredictionWriter
from litlab.checkpoints.io import AtomicCheckpointIO
from litlab.checkpoints.match import check_config_matches_data, check_same_model_class, check_weights_fit
from litlab.checkpoints.order import monitored_first
from litlab.command.arguments import gathered_inputs, kept_init_args, with_run_config
from litlab.command.config_errors import explain
from litlab.command.errors import CheckpointError, ConfigError, DistributedJobError, LitlabError
from litlab.command.evaluation_device import evaluate_where_possible
from litlab.command.input_checks import (
    check_augmentation,
    check_output_folders,
    check_ranges,
    check_yaml_syntax,
    config_files,
)
from litlab.command.predict_options import add_predict_arguments, default_predictions_path, predict_on_inputs
from litlab.command.quiet import quiet_evaluation, quiet_lightning, quiet_resume
from litlab.command.run_name import add_run_name_argument, apply_run_name
from litlab.command.tensor_values import register_tensor_type
from litlab.command.test_after_fit import summary_line, test_after_fit
from litlab.command.torchvision_class_path import rewrite_torchvision_backbone
from litlab.runs.resume import finished_training, resolve_last
from litlab.runtime.allocator import keep_freed_memory
from litlab.runtime.cpu_precision import warn_if_bf16_is_emulated

# The shared trainer, logger, checkpoints, safety nets and dashboards, loaded before any --config (see the file).
DEFAULTS = Path(__file__).with_name("defaults.yaml")
LIGHTNING_CKPT_NAMES = ("best", "hpc", "registry")  # left to Lightning
register_tensor_type()  # `weight: [1, 3]` for a loss's Tensor argument


class SaveRunConfig(SaveConfigCallback):
    """Saves the resolved config as `config.yaml` in the run folder, except over a training run's own config:
    `litlab test` (or validate, predict) of a checkpoint writes into the run the checkpoint came from."""

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if stage == "predict":
            return  # no run to describe: predict logs nothing (its file goes beside the checkpoint's run)
        if stage != "fit" and self.save_to_log_dir and not self.already_saved:
            path = Path(trainer.log_dir or "", self.config_filename)  # log_dir is collective: every rank asks
            if trainer.strategy.broadcast(trainer.is_global_zero and path.is_file()):
                return
        super().setup(trainer, pl_module, stage)


class LitlabCLI(LightningCLI):
    """LightningCLI whose task gets `input_shape` and `num_classes`/`num_outputs` from the data module."""

    def init_parser(self, **kwargs: Any) -> LightningArgumentParser:
        kwargs.setdefault("exit_on_error", False)  # raise, so the error can be shortened instead of printing usage
        return super().init_parser(**kwargs)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        # A link whose attribute the data module lacks (num_outputs on a classification set) is skipped.
        for name in ("input_shape", "num_classes", "num_outputs", "num_labels"):
            parser.link_arguments(f"data.{name}", f"model.init_args.{name}", apply_on="instantiate")
        parser.add_argument(
            "--test_after_fit",
            type=bool,
            default=True,
            help="fit only: when the data has a test split, test the best checkpoint in the same run when "
            "training ends (the last checkpoint if none is monitored).",
        )
        add_run_name_argument(parser)

    def _prepare_subcommand_parser(self, klass: type, subcommand: str, **kwargs: Any) -> LightningArgumentParser:
        parser = super()._prepare_subcommand_parser(klass, subcommand, **kwargs)
        if subcommand == "predict":  # LightningCLI has no public per-subcommand hook for extra arguments
            add_predict_arguments(parser)
        return parser

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        self._restore_after_instantiation: dict[str, Any] = {}
        try:
            super().parse_arguments(parser, args)
        except ArgumentError as error:
            words = sys.argv[1:] if args is None else [str(a) for a in args]
            subcommand = next((w for w in words if w in self.subcommands()), None)
            subcommand_parser = getattr(self, "_subcommand_parsers", {}).get(subcommand, parser)  # run=False: none
            raise ConfigError(explain(str(error), subcommand_parser)) from None
        subcommand = self.config.get("subcommand")
        if subcommand is None:
            return
        config = self.config[subcommand]
        apply_run_name(config)
        rewrite_torchvision_backbone(config)
        check_ranges(config)
        check_output_folders(config)
        words = sys.argv[1:] if args is None else [str(a) for a in args]
        for note in kept_init_args(words, config):
            rank_zero_info(note)
        ckpt_path = config.get("ckpt_path")
        if ckpt_path == "last":
            self._resolve_last(subcommand, config)
        elif ckpt_path and "://" not in str(ckpt_path) and not str(ckpt_path).startswith(LIGHTNING_CKPT_NAMES):
            check_same_model_class(ckpt_path, config.model)  # also: exists and is readable
            if subcommand == "test":
                self._log_into_run_of(Path(ckpt_path), config)
        if subcommand == "predict":
            config.trainer.logger = False  # predict logs nothing: no run folder, no empty events file
            if config.get("inputs"):
                predict_on_inputs(config)

    @staticmethod
    def _log_into_run_of(ckpt_path: Path, config: Namespace) -> None:
        """`litlab test --ckpt_path <run>/checkpoints/x.ckpt` logs into `<run>`, beside the training it tests,
        instead of opening a new `version_N` (TensorBoard logger only; any other logger is left as it is).

        Not `validate`: its `val/` scalars, logged from step 0, would make TensorBoard drop the training run's
        own validation curve (it discards a tag's later steps when an earlier step is written after them).
        """
        logger = config.trainer.get("logger")
        init_args = logger.get("init_args") if isinstance(logger, Namespace) else None
        run = ckpt_path.parent.parent
        is_tensorboard = isinstance(logger, Namespace) and logger.get("class_path", "").endswith(
            TensorBoardLogger.__name__
        )
        if init_args is None or not is_tensorboard or ckpt_path.parent.name != "checkpoints":
            return
        if not any(run.glob("events.out.tfevents.*")):
            return
        init_args.save_dir, init_args.name, init_args.version = str(run.parent.parent), run.parent.name, run.name

    def _resolve_last(self, subcommand: str, config: Namespace) -> None:
        """`--ckpt_path last`: the newest run of this experiment, continued in its own folder (litlab.runs.resume)."""
        logger = config.trainer.get("logger")
        init_args = logger.get("init_args") if isinstance(logger, Namespace) else None
        if init_args is None or init_args.get("save_dir") is None:
            raise ConfigError(
                "--ckpt_path last finds earlier runs through trainer.logger's save_dir; this config has none."
            )
        found = resolve_last(init_args.save_dir, init_args.get("name"), init_args.get("version"))
        where = Path(init_args.save_dir) / (init_args.get("name") or "")
        if subcommand != "fit":
            if found is None or found.checkpoint is None:
                raise CheckpointError(f"--ckpt_path last: no readable checkpoint in the newest run under {where}.")
            check_same_model_class(found.checkpoint, config.model)
            config.ckpt_path = str(found.checkpoint)
            return
        # What the saved config.yaml should say: the experiment, not this particular restart of it.
        self._restore_after_instantiation = {"ckpt_path": None, "trainer.logger.init_args.version": init_args.version}
        config.ckpt_path = None
        if found is None:
            rank_zero_warn(f"--ckpt_path last: no earlier run under {where}; starting a new run.")
            return
        init_args.version = found.version
        if found.checkpoint is None:
            rank_zero_warn(
                f"--ckpt_path last: {found.run} has no checkpoint to continue from; training it again from the start."
            )
            quiet_resume()  # its checkpoint folder exists and may hold files that were passed over
            return
        check_same_model_class(found.checkpoint, config.model)
        trainer = config.trainer
        if finished := finished_training(found.checkpoint, trainer.get("max_epochs"), trainer.get("max_steps")):
            rank_zero_info(finished)
            raise SystemExit(0)  # a requeued job of a run that finished is done too: not an error
        config.ckpt_path = str(found.checkpoint)
        quiet_resume()
        rank_zero_info(f"Resuming {found.run} from {found.checkpoint.name}")

    def after_instantiate_classes(self) -> None:
        warn_if_bf16_is_emulated(self.trainer)
        if self.subcommand is None:
            return
        config = self.config[self.subcommand]
        for key, value in self._restore_after_instantiation.items():
            config[key] = value
        ckpt_path = self.config_init[self.subcommand].get("ckpt_path")
        if ckpt_path and Path(str(ckpt_path)).is_file():  # first: a checkpoint's saved shapes explain a mismatch best
            check_weights_fit(ckpt_path, self.model, self.datamodule)
        check_config_matches_data(config.model, self.datamodule)
        check_augmentation(self.datamodule)
        if self.subcommand == "predict" and not any(isinstance(c, PredictionWriter) for c in self.trainer.callbacks):
            output = config.output or default_predictions_path(config.get("ckpt_path"))
            self.trainer.callbacks.append(PredictionWriter(output, config.top_k))
            if config.get("return_predictions") is None:  # the writer has them; do not also keep them in memory
                self.config_init["predict"]["return_predictions"] = False

    def after_fit(self) -> None:
        """`fit` ends with a test of the best checkpoint in the same run (`test_after_fit`), then one summary line."""
        if self.config_init["fit"].get("test_after_fit", True) and not self.trainer.interrupted:
            test_after_fit(self.trainer, self.model, self.datamodule)
        rank_zero_info(summary_line(self.trainer))

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        trainer_init = self._get(self.config_init, "trainer", default={})
        if trainer_init.get("enable_progress_bar") is False and trainer_init.get("callbacks"):
            # `--trainer.enable_progress_bar false` also switches off a bar the config lists (the shipped
            # configs set its refresh rate); Lightning alone would refuse the pair.
            trainer_init["callbacks"] = [c for c in trainer_init["callbacks"] if not isinstance(c, ProgressBar)]
        if trainer_init.get("enable_model_summary") is False and trainer_init.get("callbacks"):
            trainer_init["callbacks"] = [c for c in trainer_init["callbacks"] if not isinstance(c, ModelSummary)]
        if self.subcommand in ("validate", "test", "predict"):
            # Nothing to checkpoint; a ModelCheckpoint would only restore the checkpoint's own state and warn
            # that its folder is not this run's ("The dirpath has changed").
            callbacks = trainer_init.get("callbacks") or []
            trainer_init["callbacks"] = [c for c in callbacks if not isinstance(c, ModelCheckpoint)]
            trainer_init["enable_checkpointing"] = False
            quiet_evaluation()
        plugins = trainer_init.get("plugins") or []
        plugins = plugins if isinstance(plugins, list) else [plugins]
        if not any(isinstance(p, CheckpointIO) for p in plugins):
            kwargs["plugins"] = [*plugins, AtomicCheckpointIO()]
        try:
            trainer = super().instantiate_trainer(**kwargs)
        except MisconfigurationException as error:  # no GPU, fewer devices than asked, a strategy that cannot start
            asked = ", ".join(f"{key}={trainer_init.get(key)}" for key in ("accelerator", "devices", "strategy"))
            raise ConfigError(
                f"the trainer cannot run as configured on this machine ({asked}): {error} Use "
                "--trainer.accelerator cpu (or auto) where there is no GPU, and --trainer.devices no larger than "
                "the devices present."
            ) from None
        monitored_first(trainer.callbacks)  # last.ckpt records the best checkpoint's state after its epoch
        return trainer


def _parser_kwargs(run: bool) -> dict[str, Any]:
    """DEFAULTS go to each subcommand's parser (fit, test, ...), or to the only parser when there are none."""
    kwargs: dict[str, Any] = {"allow_abbrev": False}  # a typo such as --trainer.max_epoch must fail, not match
    defaults = {"default_config_files": [DEFAULTS]}
    if not run:
        return kwargs | defaults
    return kwargs | {subcommand: defaults for subcommand in LitlabCLI.subcommands()}


def build_cli(
    args: list[str] | dict[str, Any] | None = None, run: bool = True, trainer_defaults: dict[str, Any] | None = None
) -> LitlabCLI:
    """The CLI exactly as `litlab` builds it from argv-style arguments or a parsed config; `run=False` only
    parses and instantiates (for tests and scripts). `trainer_defaults` is LightningCLI's: its callbacks are
    added to the config's without being saved in config.yaml (`litlab sweep` adds its Optuna callback)."""
    quiet_lightning()  # also for scripts and benchmarks that build runs without the `litlab` command
    return LitlabCLI(
        LightningModule,
        LightningDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        auto_configure_optimizers=False,  # tasks take optimizer and scheduler as their own arguments
        save_config_callback=SaveRunConfig,
        save_config_kwargs={"overwrite": True},
        parser_kwargs=_parser_kwargs(run),
        trainer_defaults=trainer_defaults or {},
        args=args,
        run=run,
    )


def resolved_config(args: list[str], run: bool = True) -> dict[str, Any]:
    """What `litlab <args> --print_config` prints, as a dict: the defaults, the --config files and the overrides
    stacked by the command's own parser, nothing instantiated. `args` starts with the subcommand; with
    `run=False` it has none, and the dict is what `build_cli(dict, run=False)` takes."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.suppress(SystemExit):
        build_cli([*args, "--print_config"], run=run)
    return yaml.safe_load(printed.getvalue())


def _peer_failure(error: BaseException) -> bool:
    """A collective failed because another process of the job is gone (gloo: connection closed; NCCL: timeout)."""
    return isinstance(error, torch.distributed.DistError) or (
        isinstance(error, RuntimeError) and any(m in str(error) for m in ("closed by peer", "reset by peer"))
    )


def _litlab_cause(error: BaseException | None) -> LitlabError | None:
    """The LitlabError behind `error`: itself, what it was raised from, or what was being handled when it came
    (e.g. a full disk that also makes the logger's final flush fail)."""
    while error is not None and not isinstance(error, LitlabError):
        error = error.__cause__ or error.__context__
    return error


def _run(args: list[str] | None) -> None:
    words = sys.argv[1:] if args is None else list(args)
    for path in config_files(words):
        check_yaml_syntax(path)
    given = words
    words = evaluate_where_possible(with_run_config(gathered_inputs(words)))
    if args is None and words is not given:
        sys.argv[1:] = words  # LightningCLI reads sys.argv; passing both would make it warn
    try:
        build_cli(None if args is None else words)
    except ArgumentError as error:  # raised outside parse_arguments, e.g. merging a checkpoint's hyperparameters
        raise ConfigError(explain(str(error))) from None
    except Exception as error:
        cause = _litlab_cause(error)
        if cause is not None and cause is not error:
            raise cause from None  # e.g. a data module's LitlabError that jsonargparse wrapped in a ValueError
        if cause is not None or not _peer_failure(error):
            raise
        raise DistributedJobError(
            f"another process of this distributed job stopped ({str(error).splitlines()[0]}). The first error in "
            "the other processes' output says why; fix it and continue with `--ckpt_path last`."
        ) from error


def run_reporting_errors(command: Callable[[], None]) -> None:
    """Run `command` as the `litlab` process runs: glibc keeps freed memory (litlab.runtime.allocator), and a
    LitlabError prints as a short message with exit status 2 (LITLAB_DEBUG=1: the traceback instead)."""
    if os.environ.get("LITLAB_MALLOC") != "default":
        keep_freed_memory()  # CPU training: no fresh, zeroed pages for every step's activations
    try:
        command()
    except LitlabError as error:
        if os.environ.get("LITLAB_DEBUG"):
            raise
        print(f"litlab: error: {error}\n(set LITLAB_DEBUG=1 for the full traceback)", file=sys.stderr)
        sys.exit(2)


def main(args: list[str] | None = None) -> None:
    """`litlab fit|validate|test|predict ...` (the console script also routes `litlab sweep`: command.entry)."""
    if os.getcwd() not in sys.path:  # as `python -m` does: a class_path may name a module in the current folder
        sys.path.insert(0, os.getcwd())
    quiet_lightning()
    run_reporting_errors(lambda: _run(args))
