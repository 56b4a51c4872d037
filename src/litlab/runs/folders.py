"""Run folders under a log folder: which ones are training runs, their versions, and the newest.

`litlab fit`, `litlab test` and the rest log to `<save_dir>/<name>/version_<N>` with the same experiment
name, so one folder name cannot tell a training run from an evaluation. This module is the one place that
decides it (from the saved config.yaml); resuming and reporting both ask it.
"""

import re
from pathlib import Path

import yaml

VERSION_FOLDER = re.compile(r"version_(\d+)")
EVALUATION_KEYS = {"verbose", "return_predictions"}  # in the config LightningCLI saves for validate/test/predict
# libyaml's parser where PyYAML was built with it: a run's config.yaml in about 1 ms instead of 8 (a report
# or a resume reads one per run folder). Same documents, same YAMLError on a broken file.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> object:
    """The YAML document in `path`, safely loaded (raises OSError or yaml.YAMLError)."""
    return yaml.load(path.read_text(), Loader=SafeLoader)  # noqa: S506 - a safe loader


def version_of(run: Path) -> int | str:
    """The TensorBoardLogger/CSVLogger `version` whose log folder is `run`."""
    match = VERSION_FOLDER.fullmatch(run.name)
    return int(match.group(1)) if match else run.name


def run_folder(root: Path, version: int | str) -> Path:
    return root / (f"version_{version}" if isinstance(version, int) else version)


def is_training_run(run: Path) -> bool | None:
    """True for the folder of a `litlab fit` run, False for a `litlab validate/test/predict` run (their saved
    config has the method's `verbose` or `return_predictions` key, a `fit` config has neither), None when the
    folder holds no readable config.yaml to tell."""
    config = run / "config.yaml"
    try:
        loaded = read_yaml(config) if config.is_file() else None
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(loaded, dict):
        return None
    return not EVALUATION_KEYS & set(loaded)


def numbered_runs(root: Path) -> list[Path]:
    """The training runs' `version_<N>` folders under `root`, oldest (lowest N) first."""
    runs = [p for p in root.glob("version_*") if p.is_dir() and VERSION_FOLDER.fullmatch(p.name)]
    return sorted((run for run in runs if is_training_run(run) is not False), key=version_of)


def last_written_run(logs: Path) -> Path | None:
    """The training run under `logs` (any experiment) holding the most recently modified file."""
    runs = {config.parent for config in logs.glob("*/*/config.yaml") if is_training_run(config.parent)}

    def last_write(run: Path) -> float:
        return max(p.stat().st_mtime for p in run.rglob("*") if p.is_file())

    return max(runs, key=last_write, default=None)
