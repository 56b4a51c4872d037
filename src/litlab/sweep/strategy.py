"""Optuna's sampler and pruner, chosen by name in the sweep file; every other key goes to their constructor."""

from typing import Any

import optuna

from litlab.command.errors import ConfigError
from litlab.sweep.space import Param

SAMPLERS = {"tpe": optuna.samplers.TPESampler, "random": optuna.samplers.RandomSampler}
PRUNERS = {
    "median": optuna.pruners.MedianPruner,
    "percentile": optuna.pruners.PercentilePruner,
    "hyperband": optuna.pruners.HyperbandPruner,
    "successive_halving": optuna.pruners.SuccessiveHalvingPruner,
    "threshold": optuna.pruners.ThresholdPruner,
    "none": optuna.pruners.NopPruner,
}


def _split(setting: dict[str, Any], what: str, known: list[str]) -> tuple[str, dict[str, Any]]:
    options = dict(setting)
    name = str(options.pop("name", known[0])).lower()
    if name not in known:
        raise ConfigError(f"{what}: name must be one of {', '.join(known)}, got {name or 'nothing'}.")
    return name, options


def build_sampler(setting: dict[str, Any], space: list[Param]) -> optuna.samplers.BaseSampler:
    """TPE, random, or a grid over every searched key's choices (numbers need a `step`)."""
    name, options = _split(setting, "sampler", [*SAMPLERS, "grid"])
    try:
        if name == "grid":
            return optuna.samplers.GridSampler({param.key: param.grid() for param in space}, **options)
        return SAMPLERS[name](**options)
    except TypeError as error:
        raise ConfigError(f"sampler {name}: {error}") from None


def build_pruner(setting: dict[str, Any]) -> optuna.pruners.BasePruner:
    name, options = _split(setting, "pruner", list(PRUNERS))
    try:
        return PRUNERS[name](**options)
    except TypeError as error:
        raise ConfigError(f"pruner {name}: {error}") from None


def grid_size(space: list[Param]) -> int:
    size = 1
    for param in space:
        size *= len(param.grid())
    return size
