"""What one sweep is: the experiment config, the searched keys, the objective, and where the study lives.

A sweep file (configs/sweeps/*.yaml) holds everything but the command-line options:

    config: ../synthetic_mlp.yaml        # one path or a list (stacked like repeated --config); relative to this file
    overrides: {trainer.max_epochs: 4}   # fixed for every trial, as `litlab fit` keys
    metric: val/acc_best                 # a logged metric; the objective and what pruning watches
    direction: maximize
    n_trials: 12                         # the study's total, not "this many more"
    sampler: {name: tpe, seed: 0}        # tpe (default), random or grid; other keys go to Optuna's sampler
    pruner: {name: median, n_startup_trials: 3}  # median (default), percentile, hyperband, successive_halving,
                                         # threshold or none; other keys go to Optuna's pruner
    enqueue: [{model.init_args.optimizer.init_args.lr: 0.001}]  # trials to run first (e.g. the config's own)
    params: {...}                        # see litlab.sweep.space
"""

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from litlab.command.errors import ConfigError

KNOWN_KEYS = {"config", "overrides", "metric", "direction", "n_trials", "sampler", "pruner", "enqueue", "params"}
DEFAULT_HEARTBEAT_S = 10  # Optuna's heartbeat period; a trial silent for twice this long counts as interrupted


@dataclass
class SweepSpec:
    """A sweep file merged with the command line; picklable, so worker processes get it whole."""

    name: str
    configs: list[Path]
    out: Path = Path("logs/sweeps")
    fit_args: list[str] = field(default_factory=list)  # overrides from the command line, after the file's
    overrides: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    metric: str = "val/acc_best"
    direction: str = "maximize"
    n_trials: int = 10
    sampler: dict[str, Any] = field(default_factory=lambda: {"name": "tpe"})
    pruner: dict[str, Any] = field(default_factory=lambda: {"name": "median"})
    enqueue: list[dict[str, Any]] = field(default_factory=list)
    storage: str | None = None  # an Optuna storage URL; None: a file in the sweep folder
    workers: int = 1
    heartbeat_s: int = DEFAULT_HEARTBEAT_S
    seeds: int | None = None

    @property
    def folder(self) -> Path:
        """The sweep folder: the study file, best.yaml, the summary, the plots and one run folder per trial."""
        return self.out / self.name


def read_sweep_file(path: Path) -> dict[str, Any]:
    """The sweep file's mapping, with `config` paths made relative to the current folder."""
    if not path.is_file():
        raise ConfigError(f"no sweep file {path}; see configs/sweeps/ for examples.")
    content = yaml.safe_load(path.read_text()) or {}
    if not isinstance(content, dict):
        raise ConfigError(f"{path} must be a mapping of {', '.join(sorted(KNOWN_KEYS))}.")
    unknown = set(content) - KNOWN_KEYS
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(KNOWN_KEYS))}."
        )
    configs = content.get("config") or []
    content["config"] = [
        Path(os.path.normpath(path.parent / c)) for c in ([configs] if isinstance(configs, str) else configs)
    ]
    return content


def seed_sweep(spec: SweepSpec, seeds: int) -> SweepSpec:
    """`--seeds N`: the same config N times, `seed_everything` 0 .. N-1, every run to the end."""
    if spec.params:
        raise ConfigError(
            "--seeds repeats one config; this sweep also searches parameters. Run the search first, then "
            "`litlab sweep --config <sweep folder>/best.yaml --seeds N`."
        )
    spec.params = {"seed_everything": {"type": "categorical", "choices": list(range(seeds))}}
    spec.sampler, spec.pruner, spec.n_trials, spec.seeds = {"name": "grid"}, {"name": "none"}, seeds, seeds
    return spec
