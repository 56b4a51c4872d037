"""A search space keyed by `litlab fit` config keys, read from YAML, turned into Optuna suggestions.

    params:
      model.init_args.optimizer.init_args.lr: {type: float, low: 1.0e-4, high: 1.0e-1, log: true}
      model.init_args.backbone.init_args.hidden_sizes: {type: categorical, choices: [[128], [256, 128]]}
      data.init_args.batch_size: {type: int, low: 32, high: 256, step: 32}
      model.init_args.scheduler:   # whole classes (or null) as choices
        type: categorical
        choices: [null, {class_path: torch.optim.lr_scheduler.CosineAnnealingLR, init_args: {T_max: 8}}]

Optuna's categorical choices must be None, bool, int, float or str, so a choice that is a mapping or a
list is offered to Optuna as a label (`CosineAnnealingLR`, `[256, 128]`) and mapped back to the value.
Each value becomes a `--<key> <json>` argument; keys are applied shortest first, so a class chosen for
`...optimizer` comes before a searched `...optimizer.init_args.lr` refines it.
"""

import json
from dataclasses import dataclass
from typing import Any

import optuna

from litlab.command.errors import ConfigError

Choice = None | bool | int | float | str
TYPES = ("float", "int", "categorical")


def _label(choice: Any) -> Choice:
    """What Optuna stores for `choice`: the value itself when Optuna accepts it, else a short readable label."""
    if choice is None or isinstance(choice, bool | int | float | str):
        return choice
    if isinstance(choice, dict) and "class_path" in choice:
        return str(choice["class_path"]).rsplit(".", 1)[-1]
    return json.dumps(choice, separators=(",", ":"))


@dataclass(frozen=True)
class Param:
    """One searched config key and its distribution."""

    key: str
    distribution: optuna.distributions.BaseDistribution
    values: dict[Choice, Any]  # categorical label -> config value; empty for numbers

    def suggest(self, trial: optuna.Trial) -> Any:
        d = self.distribution
        if isinstance(d, optuna.distributions.FloatDistribution):
            return trial.suggest_float(self.key, d.low, d.high, step=d.step, log=d.log)
        if isinstance(d, optuna.distributions.IntDistribution):
            return trial.suggest_int(self.key, d.low, d.high, step=d.step, log=d.log)
        label = trial.suggest_categorical(self.key, d.choices)
        return self.values.get(label, label)

    def grid(self) -> list[Choice]:
        """Every value a grid search tries: the choices, or the stepped range of a number."""
        d = self.distribution
        if isinstance(d, optuna.distributions.CategoricalDistribution):
            return list(d.choices)
        if getattr(d, "step", None) is None:
            raise ConfigError(f"grid search over {self.key}: give it a `step` or make it categorical.")
        count = round((d.high - d.low) / d.step) + 1
        return [type(d.low)(d.low + i * d.step) for i in range(count)]


def parse_param(key: str, spec: Any) -> Param:
    """`{type: float|int, low, high, log, step}` or `{type: categorical, choices}` as an Optuna distribution."""
    if not isinstance(spec, dict) or spec.get("type") not in TYPES:
        raise ConfigError(f"search space: {key} needs `type:` one of {', '.join(TYPES)}, got {spec!r}.")
    kind = spec["type"]
    options = {k: v for k, v in spec.items() if k != "type"}
    try:
        if kind == "categorical":
            choices = options.pop("choices")
            labels = [_label(c) for c in choices]
            if len(set(map(str, labels))) != len(labels):
                raise ConfigError(f"search space: two choices of {key} have the same label; make them differ.")
            mapped = {label: c for label, c in zip(labels, choices, strict=True) if label is not c}
            return Param(key, optuna.distributions.CategoricalDistribution(labels, **options), mapped)
        cls = optuna.distributions.FloatDistribution if kind == "float" else optuna.distributions.IntDistribution
        if kind == "float":
            options = {k: float(v) if k in ("low", "high", "step") and v is not None else v for k, v in options.items()}
        return Param(key, cls(**options), {})
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"search space: {key}: {error}. See configs/sweeps/ for examples.") from None


def parse_space(params: dict[str, Any] | None) -> list[Param]:
    """The `params:` mapping of a sweep file, shortest key first (see the module docstring)."""
    return sorted((parse_param(key, spec) for key, spec in (params or {}).items()), key=lambda p: p.key.count("."))


def suggest_overrides(trial: optuna.Trial, space: list[Param]) -> dict[str, Any]:
    """This trial's value for every searched key."""
    return {param.key: param.suggest(trial) for param in space}


def as_cli_args(overrides: dict[str, Any]) -> list[str]:
    """`{"a.b": 0.1, "c": {"class_path": ...}}` -> `["--a.b", "0.1", "--c", '{"class_path": ...}']`."""
    args = []
    for key, value in overrides.items():
        args += [f"--{key}", json.dumps(value)]
    return args
