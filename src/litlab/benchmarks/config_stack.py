"""Config files stacked as `litlab fit --config A --config B` stacks them, for scripts that edit the result.

The benchmarks build each run from the shipped YAML files, change a few keys (data folder, epochs, logging
folder) and hand the dict to the CLI; a recipe made of a base config and a variant has to be merged first.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml


def merged(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """`overlay` merged into a copy of `base` key by key at every depth, as jsonargparse stacks config files; lists
    are replaced. Where a `class_path` changes, the whole subtree is replaced (jsonargparse would keep the old
    `init_args` that the new class also takes); the shipped recipes' overlays change no class."""
    if "class_path" in overlay and overlay["class_path"] != base.get("class_path"):
        return dict(overlay)
    out = dict(base)
    for key, value in overlay.items():
        both_dicts = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merged(out[key], value) if both_dicts else value
    return out


# kept from a config's CIFAR-10 data when an image folder replaces it
SHARED_DATA_ARGS = ("loader", "batch_size", "num_workers", "augmentation", "channels_last")


def on_image_folder(raw: dict[str, Any], root: str | Path, **data: Any) -> dict[str, Any]:
    """`raw` with its data replaced by an ImageFolderDataModule on `root`, keeping the data's loader settings
    (`SHARED_DATA_ARGS`); `data` overrides them."""
    kept = {k: v for k, v in raw["data"].get("init_args", {}).items() if k in SHARED_DATA_ARGS}
    init_args = {"root": str(root), **kept, **data}
    return {**raw, "data": {"class_path": "litlab.data.ImageFolderDataModule", "init_args": init_args}}


def stacked(folder: Path, configs: Sequence[str]) -> dict[str, Any]:
    """The YAML files `configs` (paths relative to `folder`) merged in order."""
    raw: dict[str, Any] = {}
    for config in configs:
        raw = merged(raw, yaml.safe_load((folder / config).read_text()))
    return raw
