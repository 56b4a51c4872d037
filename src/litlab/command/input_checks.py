"""Checks that run before anything is built: config files that are not valid YAML, values out of their range, and
a log folder that cannot be written. Each names the file, key or folder and says what would work.

jsonargparse reports a YAML syntax error against `<unicode string>` and accepts any float where a fraction is
meant; Lightning finds an unwritable log folder only when it first writes there, mid-run. These checks move all
three to start-up.
"""

import math
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from jsonargparse import Namespace

from litlab.command.errors import ConfigError

# name -> (low, high, low included, high included, what it is). Keyed by the argument's own name, so the rule holds
# wherever the name appears: litlab's classes, torch's optimizers and schedulers, a user's own module.
RANGES: dict[str, tuple[float, float, bool, bool, str]] = {
    "lr": (0, math.inf, False, False, "a learning rate"),
    "max_lr": (0, math.inf, False, False, "a learning rate"),
    "batch_size": (1, math.inf, True, False, "a batch size"),
    "weight_decay": (0, math.inf, True, False, "a weight decay"),
    "momentum": (0, 1, True, False, "a momentum"),
    "betas": (0, 1, True, False, "Adam's betas"),
    "dropout": (0, 1, True, False, "a dropout probability"),
    "label_smoothing": (0, 1, True, False, "a label smoothing"),
    "pct_start": (0, 1, False, False, "a fraction of the schedule"),
    "factor": (0, 1, False, False, "a multiplicative factor"),
    "gamma": (0, math.inf, True, False, "a decay factor or focusing exponent"),
    "num_workers": (0, math.inf, True, False, "a number of worker processes"),
    "sizes": (1, math.inf, True, False, "a split size"),
    "image_size": (1, math.inf, True, False, "an image size"),
    "noise": (0, math.inf, True, False, "a noise level"),
    "crop_padding": (0, math.inf, True, False, "a padding in pixels"),
    "gradient_clip_val": (0, math.inf, True, False, "a gradient clipping value"),
    "accumulate_grad_batches": (1, math.inf, True, False, "a number of batches"),
}
SUFFIX_RANGES = {"_fraction": (0, 1, False, False, "a fraction"), "_prob": (0, 1, True, True, "a probability")}


def _rule(name: str) -> tuple[float, float, bool, bool, str] | None:
    if name in RANGES:
        return RANGES[name]
    return next((rule for suffix, rule in SUFFIX_RANGES.items() if name.endswith(suffix)), None)


def _describe(low: float, high: float, low_in: bool, high_in: bool) -> str:
    if high == math.inf:
        return f"{'at least' if low_in else 'greater than'} {low:g}"
    return f"in {'[' if low_in else '('}{low:g}, {high:g}{']' if high_in else ')'}"


def _numbers(value: Any) -> Sequence[float]:
    """The numbers in a value: itself, or the items of a list or tuple (sizes, betas); none for anything else."""
    items = value if isinstance(value, list | tuple) else [value]
    return [v for v in items if isinstance(v, int | float) and not isinstance(v, bool)]


def check_ranges(config: Namespace) -> None:
    """Every value whose argument name has a known valid range is inside it; all violations in one message."""
    problems = []
    for key, value in config.items():
        rule = _rule(key.rsplit(".", 1)[-1])
        if rule is None:
            continue
        low, high, low_in, high_in, what = rule
        for number in _numbers(value):
            inside = (number > low or (low_in and number == low)) and (number < high or (high_in and number == high))
            if not inside or math.isnan(number):
                problems.append(f"{key} is {what} and must be {_describe(*rule[:4])}; got {value}.")
                break
    if problems:
        raise ConfigError("\n".join(problems))


def config_files(args: Iterable[str]) -> list[Path]:
    """The files given with `--config X` or `--config=X`."""
    words, files = list(args), []
    for i, word in enumerate(words):
        if word == "--config" and i + 1 < len(words):
            files.append(Path(words[i + 1]))
        elif word.startswith("--config="):
            files.append(Path(word.split("=", 1)[1]))
    return files


def check_yaml_syntax(path: Path) -> None:
    """A config file that is not valid YAML: its name, line and column, and the line itself with a caret."""
    if not path.is_file():
        return  # jsonargparse says the file does not exist
    text = path.read_text(errors="replace")
    try:
        yaml.safe_load(text)
    except yaml.YAMLError as error:
        # The context mark is where the broken construct began (an unclosed bracket); the problem mark may be the
        # end of the file. Show the first that points at a real line.
        lines = text.splitlines()
        marks = [getattr(error, name, None) for name in ("context_mark", "problem_mark")]
        mark = next((m for m in marks if m is not None and m.line < len(lines)), None)
        problem = " ".join(filter(None, [getattr(error, "context", None), getattr(error, "problem", None)]))
        if mark is None:
            raise ConfigError(f"{path} is not valid YAML: {problem or error}.") from None
        raise ConfigError(
            f"{path}, line {mark.line + 1}, column {mark.column + 1}: not valid YAML ({problem}).\n"
            f"    {lines[mark.line]}\n    {' ' * mark.column}^"
        ) from None


def _writable_folder_problem(folder: Path) -> str | None:
    """Why `folder` could not be created and written, or None if it can."""
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        return f"{existing} is a file, not a folder"
    try:
        Path(tempfile.mkdtemp(prefix=".litlab-write-check-", dir=existing)).rmdir()
    except OSError as error:
        return f"{existing} cannot be written ({error.strerror or error})"
    return None


def output_folders(config: Namespace) -> list[tuple[str, Path]]:
    """Where a run writes: the logger's save_dir, the trainer's default_root_dir, checkpoint dirpaths."""
    found = []
    trainer = config.get("trainer") or Namespace()
    loggers = trainer.get("logger")
    for logger in loggers if isinstance(loggers, list) else [loggers]:
        init_args = logger.get("init_args") if isinstance(logger, Namespace) else None
        if init_args is not None and init_args.get("save_dir"):
            found.append(("trainer.logger.init_args.save_dir", Path(str(init_args.save_dir))))
    if trainer.get("default_root_dir"):
        found.append(("trainer.default_root_dir", Path(str(trainer.default_root_dir))))
    for callback in trainer.get("callbacks") or []:
        init_args = callback.get("init_args") if isinstance(callback, Namespace) else None
        if init_args is not None and init_args.get("dirpath"):
            found.append((f"{callback.class_path}'s dirpath", Path(str(init_args.dirpath))))
    return found


def check_output_folders(config: Namespace) -> None:
    """Logs and checkpoints will be writable where they go, before any work is done."""
    for key, folder in output_folders(config):
        problem = _writable_folder_problem(folder.expanduser().absolute())
        if problem:
            option = f" (--{key} <folder>)" if key.startswith("trainer.") else ""
            raise ConfigError(f"cannot write logs or checkpoints to {folder}, set by {key}: {problem}. "
                              f"Choose a writable folder{option}.")  # fmt: skip


def check_augmentation(datamodule: object) -> None:
    """A crop padding of half the image side or more translates most of the image out of the crop."""
    augmentation = getattr(datamodule, "augmentation", None)
    padding = getattr(augmentation, "crop_padding", None)
    shape = getattr(datamodule, "input_shape", None)
    if not isinstance(padding, int) or not shape or len(shape) < 3 or not getattr(datamodule, "augment", True):
        return
    side = min(int(shape[-1]), int(shape[-2]))
    if 2 * padding >= side:
        raise ConfigError(
            f"data augmentation.crop_padding is {padding} px on {shape[-2]}x{shape[-1]} images: a shift of half the "
            f"image or more. Use at most {max(0, (side - 1) // 2)} (1/16 to 1/8 of the side is usual), or 0 to turn "
            "the shift off: --data.init_args.augmentation.crop_padding <pixels>."
        )
