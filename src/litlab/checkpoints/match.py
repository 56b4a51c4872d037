"""Does a checkpoint fit the model and data of this config? Checked before Lightning loads it, to say why not.

Without these checks a checkpoint of another task or backbone is silently re-configured from its saved
hyperparameters (LightningCLI merges them into the model config) or fails deep inside `load_state_dict`
with a size-mismatch traceback. Each check raises a `CheckpointError` naming the file and the difference.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from torch import nn

from litlab.checkpoints.io import read_checkpoint
from litlab.command.errors import CheckpointError, ConfigError

# What LitlabCLI links from data into the task.
LINKED_FROM_DATA = ("input_shape", "num_classes", "num_outputs", "num_labels")


def class_path_of(value: Any) -> str | None:
    """`class_path` of a config entry given as a Namespace/dict, a dotted string or a class."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    getter = value.get if isinstance(value, Mapping) or hasattr(value, "get") else None
    return getter("class_path") if getter else None


def check_same_model_class(path: str | Path, model_config: Any) -> None:
    """The checkpoint was written by the task and backbone classes this config builds."""
    hparams = read_checkpoint(path, mmap=True).get("hyper_parameters") or {}
    init_args = model_config.get("init_args") or {}
    pairs = [
        ("task", hparams.get("_class_path"), class_path_of(model_config)),
        ("backbone", class_path_of(hparams.get("backbone")), class_path_of(init_args.get("backbone"))),
    ]
    for what, saved, configured in pairs:
        if saved and configured and saved != configured:
            raise CheckpointError(
                f"checkpoint {path} belongs to a different model: its {what} is {saved}, this config builds "
                f"{configured}. Use the config it was trained with (config.yaml in its run folder)."
            )


def _normalised(value: Any) -> Any:
    return tuple(int(v) for v in value) if isinstance(value, Sequence) and not isinstance(value, str) else value


def check_config_matches_data(model_config: Any, datamodule: Any) -> None:
    """A shape the user gave the task explicitly (e.g. num_classes) agrees with the data it is linked from."""
    init_args = model_config.get("init_args") or {}
    for name in LINKED_FROM_DATA:
        given, actual = init_args.get(name), getattr(datamodule, name, None)
        if given is not None and actual is not None and _normalised(given) != _normalised(actual):
            raise ConfigError(
                f"model.init_args.{name}={given} disagrees with the data, which has {name}={actual}. "
                f"The task takes {name} from the data module: drop model.init_args.{name}, change the data instead."
            )


def check_weights_fit(path: str | Path, model: nn.Module, datamodule: Any) -> None:
    """The checkpoint's hyperparameters agree with the data, and its tensors with the model's names and shapes."""
    checkpoint = read_checkpoint(path, mmap=True)
    hparams = checkpoint.get("hyper_parameters") or {}
    for name in LINKED_FROM_DATA:
        saved, actual = hparams.get(name), getattr(datamodule, name, None)
        if saved is not None and actual is not None and _normalised(saved) != _normalised(actual):
            raise CheckpointError(
                f"checkpoint {path} was trained with {name}={saved}, but this data has {name}={actual}. "
                "Evaluate or resume it on the data it was trained on, or start a new run."
            )
    saved_shapes = {key: tuple(t.shape) for key, t in checkpoint["state_dict"].items()}
    model_shapes = {key: tuple(t.shape) for key, t in model.state_dict().items()}
    problems = [f"missing {key}" for key in model_shapes.keys() - saved_shapes.keys()]
    problems += [f"unexpected {key}" for key in saved_shapes.keys() - model_shapes.keys()]
    problems += [
        f"{key} is {saved_shapes[key]} in the checkpoint, {shape} in the model"
        for key, shape in model_shapes.items()
        if key in saved_shapes and saved_shapes[key] != shape
    ]
    if problems:
        shown = "; ".join(sorted(problems)[:4]) + (f"; and {len(problems) - 4} more" if len(problems) > 4 else "")
        raise CheckpointError(
            f"checkpoint {path} belongs to a different model ({shown}). "
            "Use the config it was trained with (config.yaml in its run folder)."
        )
