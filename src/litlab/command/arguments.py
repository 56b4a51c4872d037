"""What litlab reads from the command line around LightningCLI's own parsing.

- `litlab test|validate|predict --ckpt_path <run>/checkpoints/x.ckpt` without `--config` takes the run's own
  `config.yaml`, the one `litlab fit` saved beside the checkpoint.
- `litlab predict --inputs a.png b.png` (a shell glob) becomes one list value.
- A class swapped on the command line (`--model.init_args.optimizer torch.optim.Adam`) keeps the init_args of the
  config's class that the new one also accepts (jsonargparse's rule): litlab says which ones, so SGD's
  weight_decay does not silently ride along into Adam.
"""

import importlib
import inspect
import json
import re
from pathlib import Path
from typing import Any

from jsonargparse import Namespace

from litlab.command.errors import ConfigError

EVALUATING = ("test", "validate", "predict")
CLASS_PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")


def _value_of(words: list[str], option: str) -> str | None:
    for i, word in enumerate(words):
        if word == option and i + 1 < len(words):
            return words[i + 1]
        if word.startswith(option + "="):
            return word.split("=", 1)[1]
    return None


def with_run_config(words: list[str]) -> list[str]:
    """Add `--config <run>/config.yaml` to an evaluation command that names a checkpoint and no config."""
    if not words or words[0] not in EVALUATING or _value_of(words, "--config") is not None:
        return words
    if any(w in ("-h", "--help") or w.startswith("--print_config") for w in words):
        return words
    ckpt = _value_of(words, "--ckpt_path")
    if ckpt is None or ckpt in ("last", "best"):
        return words
    config = Path(ckpt).parent.parent / "config.yaml"
    if Path(ckpt).parent.name == "checkpoints" and config.is_file():
        print(f"litlab: using the training run's config, {config}")
        return [words[0], "--config", str(config), *words[1:]]
    raise ConfigError(
        f"litlab {words[0]} needs the experiment's config: add --config <the training run's folder>/config.yaml "
        f"(litlab fit saves it there), or one of configs/*.yaml. {ckpt} is not in a run's checkpoints/ folder "
        "with a config.yaml beside it."
    )


def gathered_inputs(words: list[str]) -> list[str]:
    """`litlab predict --inputs a.png b.png` (what a shell glob such as `photos/*.png` expands to) as the one
    list value jsonargparse takes for an option: `--inputs '["a.png", "b.png"]'`."""
    if not words or words[0] != "predict" or "--inputs" not in words:
        return words
    start = words.index("--inputs") + 1
    end = start
    while end < len(words) and not words[end].startswith("--"):
        end += 1
    if end - start <= 1:
        return words
    return [*words[:start], json.dumps(words[start:end]), *words[end:]]


def _defaults(class_path: str) -> dict[str, Any]:
    try:
        module, _, name = class_path.rpartition(".")
        cls = getattr(importlib.import_module(module), name)
        parameters = inspect.signature(cls).parameters.values()
    except (ImportError, AttributeError, ValueError, TypeError):
        return {}
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


def kept_init_args(words: list[str], config: Namespace) -> list[str]:
    """One note per class swapped on the command line whose new init_args include values from the config."""
    notes = []
    for i, word in enumerate(words[:-1]):
        value = words[i + 1]
        if not word.startswith("--") or not CLASS_PATH.match(value):
            continue
        key = word[2:]
        node = config.get(key) if key in config else None
        if not isinstance(node, Namespace) or node.get("class_path") != value:
            continue
        defaults = _defaults(value)
        given = {w[2:].split("=")[0].rsplit(".", 1)[-1] for w in words if w.startswith(f"--{key}.")}
        kept = {
            name: arg
            for name, arg in (node.get("init_args") or Namespace()).items()
            if name in defaults and name not in given and arg != defaults[name]
        }
        if kept:
            settings = ", ".join(f"{name}={arg}" for name, arg in kept.items())
            notes.append(
                f"Note: --{key} is now {value}; it keeps {settings} from the config. Give "
                f"--{key}.init_args.<name> <value> to change any of them."
            )
    return notes
