"""The shipped configs: every experiment starts from the one set of defaults, and stays short."""

from pathlib import Path

import pytest
import yaml

from conftest import CONFIGS
from litlab.command.cli import DEFAULTS, resolved_config

EXPERIMENTS = sorted(CONFIGS.glob("*.yaml"))
ALL_CONFIGS = [DEFAULTS, *sorted(CONFIGS.rglob("*.yaml"))]
SHARED_CALLBACKS = yaml.safe_load(DEFAULTS.read_text())["trainer"]["callbacks"]


def lines_of_content(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip() and not line.lstrip().startswith("#"))


@pytest.mark.parametrize("config", EXPERIMENTS, ids=lambda p: p.stem)
def test_every_experiment_resolves_to_the_shared_callbacks(config: Path) -> None:
    resolved = resolved_config(["fit", "--config", str(config)])
    callbacks = resolved["trainer"]["callbacks"]
    shared = callbacks[: len(SHARED_CALLBACKS)]
    assert [c["class_path"] for c in shared] == [c["class_path"] for c in SHARED_CALLBACKS]
    for listed, got in zip(SHARED_CALLBACKS, shared, strict=True):
        assert listed.get("init_args", {}).items() <= got.get("init_args", {}).items()
    assert resolved["trainer"]["logger"]["init_args"]["name"] == config.stem
    assert lines_of_content(config) <= 35


def test_each_shared_litlab_callback_is_named_in_one_config_file_only() -> None:
    names = [c["class_path"] for c in SHARED_CALLBACKS if c["class_path"].startswith("litlab.")]
    assert "litlab.callbacks.ConfusionMatrixFigure" in names
    for name in names:
        holders = [path for path in ALL_CONFIGS if name in path.read_text()]
        assert holders == [DEFAULTS], name


def test_most_experiments_are_under_25_lines() -> None:
    short = [config for config in EXPERIMENTS if lines_of_content(config) < 25]
    assert len(short) > len(EXPERIMENTS) / 2
