"""Fill TensorBoard's HParams tab: every run's flattened configuration against its real final metrics.

How the plugin works (tensorboard/plugins/hparams/backend_context.py): each run holds a
`SessionStartInfo` with its hyperparameter values; a metric column is a scalar tag, and its value for
a run is the *last* value that run logged under the tag. So there is no metric value to write here:
`val/acc_best`, `test/acc`, ... appear because the task logs them as scalars.

Two choices follow from the plugin's rules. No `Experiment` summary is written: the plugin uses the
first one it finds for all runs, so runs of different configs would lose the columns it does not
list; without one it takes the union of every run's hyperparameters and every scalar tag as metrics.
And the start info is written once, when fitting (or testing) starts, because the plugin keeps only
the first one per run; a run that crashes still shows its hyperparameters and partial metrics.
A `SessionEndInfo` records success or failure (an exception, Ctrl-C included).

In the tab, TensorBoard first shows five hyperparameters (those that differ between runs first) and
the first five metrics by name; the others are ticked in the left pane.
"""

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

from litlab.callbacks.fit_run import checkpoint_step, fit_run_of, write_test_metrics
from litlab.callbacks.lookup import tensorboard_logger
from litlab.tasks.optim import target_class

HParam = bool | int | float | str

# Arguments that change where data lives or how fast it flows, never the numbers: left out of the tab.
NOT_HPARAMS = {"data_dir", "download", "num_workers", "pin_memory", "persistent_workers"}
NOT_HPARAMS |= {"foreach", "fused", "capturable", "differentiable", "last_epoch"}  # implementation, resuming


def _flatten(prefix: str, value: Any, out: dict[str, HParam]) -> None:
    """`{"opt": {"class_path": "torch.optim.SGD", "init_args": {"lr": 0.1}}}` -> opt="SGD", opt/lr=0.1."""
    if isinstance(value, Mapping):
        if "class_path" in value:
            out[prefix] = str(value["class_path"]).rsplit(".", 1)[-1]
            value = value.get("init_args") or {}
        for key, item in value.items():
            if key not in NOT_HPARAMS and not str(key).startswith("_"):  # `_instantiator` is LightningCLI's
                _flatten(f"{prefix}/{key}" if prefix else str(key), item, out)
    elif isinstance(value, HParam):
        out[prefix] = value
    elif isinstance(value, list | tuple):
        out[prefix] = str(list(value))
    elif value is not None:  # a class or factory given in Python rather than YAML
        cls = target_class(value)
        out[prefix] = cls.__name__ if cls is not None else getattr(value, "__name__", type(value).__name__)


def flatten_hparams(trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, HParam]:
    """Model and data init arguments, plus the trainer settings that change results."""
    out: dict[str, HParam] = {"model": type(pl_module).__name__}
    _flatten("model", dict(pl_module.hparams), out)
    datamodule = trainer.datamodule
    if datamodule is not None:
        out["data"] = type(datamodule).__name__
        _flatten("data", dict(datamodule.hparams), out)
    batch_size = getattr(datamodule, "batch_size", None)
    _flatten(
        "trainer",
        {
            "max_epochs": trainer.max_epochs,
            "precision": trainer.precision,
            "world_size": trainer.world_size,
            "accumulate_grad_batches": trainer.accumulate_grad_batches,
            "gradient_clip_val": trainer.gradient_clip_val,
            "effective_batch_size": batch_size * trainer.world_size * trainer.accumulate_grad_batches
            if isinstance(batch_size, int)
            else None,
        },
        out,
    )
    if "PL_GLOBAL_SEED" in os.environ:  # set by seed_everything
        out["seed"] = int(os.environ["PL_GLOBAL_SEED"])
    if "LITLAB_SWEEP" in os.environ:  # set by `litlab sweep` around each trial
        out["sweep"], out["trial"] = os.environ["LITLAB_SWEEP"], int(os.environ["LITLAB_TRIAL"])
    return out


def _summary(tag: str, data: plugin_data_pb2.HParamsPluginData) -> Summary:
    return Summary(value=[Summary.Value(tag=tag, metadata=metadata.create_summary_metadata(data))])


def session_start_summary(hparams: Mapping[str, HParam]) -> Summary:
    info = plugin_data_pb2.SessionStartInfo(start_time_secs=time.time())
    for name, value in hparams.items():
        if isinstance(value, bool):  # before int: bool is an int subclass
            info.hparams[name].bool_value = value
        elif isinstance(value, int | float):
            info.hparams[name].number_value = value
        else:
            info.hparams[name].string_value = value
    return _summary(metadata.SESSION_START_INFO_TAG, plugin_data_pb2.HParamsPluginData(session_start_info=info))


def session_end_summary(status: int) -> Summary:
    info = plugin_data_pb2.SessionEndInfo(status=status, end_time_secs=time.time())
    return _summary(metadata.SESSION_END_INFO_TAG, plugin_data_pb2.HParamsPluginData(session_end_info=info))


class HParamsSummary(L.Callback):
    """Writes the run's hyperparameters for the HParams tab; its metrics are the run's scalars.

    One row per trained model: the test at the end of `fit`, and `litlab test` of a checkpoint from
    `<fit run>/checkpoints/`, log their `test/` metrics into that fit run (see `litlab.callbacks.fit_run`)
    instead of opening a row of their own; a checkpoint from anywhere else gets its own row.

    Keep `default_hp_metric: false` on the TensorBoardLogger: otherwise Lightning writes its own
    start info (with a placeholder `hp_metric`) first, and the plugin ignores this one.
    """

    def __init__(self) -> None:
        self._started: set[str] = set()
        self._ended: set[str] = set()

    def _write(self, trainer: L.Trainer, summary: Summary, done: set[str]) -> None:
        logger = tensorboard_logger(trainer)
        if logger is None or logger.log_dir in done:
            return
        done.add(logger.log_dir)
        writer = logger.experiment
        writer._get_file_writer().add_summary(summary)  # the same call Lightning's log_hyperparams makes
        writer.flush()

    def _start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero:
            self._write(trainer, session_start_summary(flatten_hparams(trainer, pl_module)), self._started)

    def _end(self, trainer: L.Trainer, status: int) -> None:
        logger = tensorboard_logger(trainer)
        if logger is not None and logger.log_dir in self._started:
            self._write(trainer, session_end_summary(status), self._ended)

    @staticmethod
    def _other_fit_run(trainer: L.Trainer) -> Path | None:
        """The training run of the tested checkpoint, when this test logs into a different folder."""
        logger = tensorboard_logger(trainer)
        run = fit_run_of(trainer.ckpt_path)
        if logger is None or run is None or run == Path(logger.log_dir).resolve():
            return None
        return run

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start(trainer, pl_module)

    def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if fit_run_of(trainer.ckpt_path) is None:  # a checkpoint of no training run: the test is a run of its own
            self._start(trainer, pl_module)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._end(trainer, api_pb2.STATUS_SUCCESS)

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        fit_run = self._other_fit_run(trainer)
        if fit_run is not None:
            metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("test/")}
            write_test_metrics(fit_run, metrics, checkpoint_step(trainer.ckpt_path))
        self._end(trainer, api_pb2.STATUS_SUCCESS)

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        self._end(trainer, api_pb2.STATUS_FAILURE)
