"""One Optuna trial = one ordinary `litlab fit` run, in this process (no start-up cost per trial).

The trial's run folder is `<sweep folder>/trial_NNNN` with the usual config.yaml, TensorBoard events and
checkpoints; the sweep name and trial number reach TensorBoard's HParams tab through `LITLAB_SWEEP` and
`LITLAB_TRIAL` (read by `litlab.callbacks.HParamsSummary`). The objective is the last value of the metric
after the last validation. A pruned trial's folder gets `pruned.txt` saying when and why.

This is the only module of the sweep package that imports litlab's CLI.
"""

import os
import socket
import time
import warnings
from pathlib import Path

import lightning as L
import optuna
from optuna_integration import PyTorchLightningPruningCallback

from litlab.command.cli import build_cli
from litlab.command.errors import ConfigError
from litlab.sweep.space import Param, as_cli_args, suggest_overrides
from litlab.sweep.spec import SweepSpec


class TrialReporter(PyTorchLightningPruningCallback):
    """Optuna-integration's pruning callback (reports the metric every validation, raises TrialPruned when the
    pruner says so) that also keeps the metric's last value and the time spent in `Trainer.fit` and `.test`."""

    def __init__(self, trial: optuna.Trial, monitor: str) -> None:
        super().__init__(trial, monitor)
        self.value: float | None = None
        self.busy_seconds = 0.0  # inside fit and the test after it: the work, not the overhead
        self._started = 0.0

    def _start_clock(self) -> None:
        self._started = time.perf_counter()

    def _stop_clock(self) -> None:
        if self._started:
            self.busy_seconds += time.perf_counter() - self._started
            self._started = 0.0

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_fit_start(trainer, pl_module)
        self._start_clock()

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        value = trainer.callback_metrics.get(self.monitor)
        if not trainer.sanity_checking and value is not None:
            self.value = float(value)
        super().on_validation_end(trainer, pl_module)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._stop_clock()

    def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start_clock()

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._stop_clock()

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        self._stop_clock()


def trial_args(spec: SweepSpec, overrides: dict[str, object], version: str) -> list[str]:
    """The `litlab fit` arguments of one trial: configs, the sweep's fixed overrides, the trial's values, and
    a logger pointed at the sweep folder."""
    logger = ["--trainer.logger.init_args.save_dir", str(spec.out), "--trainer.logger.init_args.name", spec.name]
    logger += ["--trainer.logger.init_args.version", version]
    configs = [arg for path in spec.configs for arg in ("--config", str(path))]
    return ["fit", *configs, *as_cli_args(spec.overrides), *spec.fit_args, *as_cli_args(overrides), *logger]


class TrialRunner:
    """The objective Optuna calls: run the trial, return the metric; record where it ran and what it cost."""

    def __init__(self, spec: SweepSpec, space: list[Param]) -> None:
        self.spec, self.space = spec, space

    def __call__(self, trial: optuna.Trial) -> float:
        started = time.perf_counter()
        version = f"trial_{trial.number:04d}"
        run_dir = self.spec.folder / version
        trial.set_user_attr("run_dir", str(run_dir))
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        reporter = TrialReporter(trial, self.spec.metric)
        os.environ.update(LITLAB_SWEEP=self.spec.name, LITLAB_TRIAL=str(trial.number))
        try:
            with warnings.catch_warnings():  # passing args in-process is the point here, not a mistake
                warnings.filterwarnings("ignore", "LightningCLI's args parameter is intended", UserWarning)
                args = trial_args(self.spec, suggest_overrides(trial, self.space), version)
                build_cli(args, trainer_defaults={"callbacks": [reporter]})
        except optuna.TrialPruned as pruned:
            _note(
                run_dir,
                "pruned.txt",
                f"Pruned by Optuna's {type(trial.study.pruner).__name__}: {pruned} "
                f"({self.spec.metric} = {reporter.value}).",
            )
            raise
        finally:
            for variable in ("LITLAB_SWEEP", "LITLAB_TRIAL"):
                os.environ.pop(variable, None)
            total = time.perf_counter() - started
            trial.set_user_attr("seconds_total", round(total, 3))
            trial.set_user_attr("seconds_overhead", round(total - reporter.busy_seconds, 3))
        if reporter.value is None:
            raise ConfigError(
                f"the objective {self.spec.metric} was never logged in {run_dir}; set `metric:` to a "
                "metric the task logs at validation (see the run's TensorBoard scalars)."
            )
        return reporter.value


def _note(run_dir: Path, name: str, text: str) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / name).write_text(text + "\n")
