"""Read every run under a log folder: its config.yaml, its TensorBoard scalars and how it ended.

A run is a folder holding a `config.yaml` (written by LightningCLI) or a TensorBoard events file.
Anything can be missing or broken: a run killed before logging, a truncated events file, a test
run whose checkpoint came from elsewhere. Such runs are still returned, with a status that says so.
"""

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import api_pb2, metadata

from litlab.runs.folders import is_training_run, read_yaml

Series = list[tuple[int, float, float]]  # (step, value, wall time)
SIZE_GUIDANCE = {"scalars": 0, "images": 1, "histograms": 1, "tensors": 1, "audio": 1, "compressedHistograms": 1}


@dataclass
class Run:
    """One run folder; `scalars` maps a tag to its logged values in order."""

    path: Path
    name: str
    config: dict[str, Any] = field(default_factory=dict)
    scalars: dict[str, Series] = field(default_factory=dict)
    ended: str | None = None  # "finished" or "failed", from the hparams session-end record
    problem: str | None = None  # why the run could not be read
    ckpt_path: Path | None = None  # the checkpoint a test run evaluated
    test_run: "Run | None" = None  # the latest test run of this fit run's checkpoints

    @property
    def is_test_only(self) -> bool:
        """An evaluation run (litlab.runs.folders decides, from config.yaml); without one, judged by its scalars."""
        training = is_training_run(self.path)
        if training is not None:
            return not training
        return bool(self.scalars) and all(tag.startswith("test/") for tag in self.scalars if tag != "epoch")

    def last(self, tag: str) -> float | None:
        series = self.scalars.get(tag)
        return series[-1][1] if series else None

    def best(self, tag: str, mode: str = "max") -> float | None:
        values = [value for _, value, _ in self.scalars.get(tag, [])]
        return (max if mode == "max" else min)(values) if values else None

    def test_metric(self, tag: str) -> float | None:
        """From the linked test run if there is one, else from this run's own `test/` scalars."""
        value = self.test_run.last(tag) if self.test_run else None
        return value if value is not None else self.last(tag)

    @property
    def started(self) -> float:
        return min((t for series in self.scalars.values() for _, _, t in series), default=0.0)

    @property
    def epochs_done(self) -> int:
        return len(self.scalars.get("time/epoch_s") or self.scalars.get("val/loss") or [])

    @property
    def wall_seconds(self) -> float | None:
        """First to last logged value; a fit run's `test/` scalars may come from a later `litlab test`."""
        times = [t for tag, series in self.scalars.items() for _, _, t in series if self._counts_for_time(tag)]
        return max(times) - min(times) if times else None

    def _counts_for_time(self, tag: str) -> bool:
        return self.is_test_only or not tag.startswith("test/")

    @property
    def images_per_s(self) -> float | None:
        values = [value for _, value, _ in self.scalars.get("time/train_images_per_s", [])]
        return statistics.median(values) if values else None

    def option(self, *keys: str) -> Any:
        """A value from the config, e.g. option("trainer", "max_epochs"); None when absent."""
        node: Any = self.config
        for key in keys:
            if isinstance(node, dict) and key not in node and isinstance(node.get("init_args"), dict):
                node = node["init_args"]  # look through LightningCLI's {class_path, init_args}
            if not isinstance(node, dict):
                return None
            node = node.get(key)
        return node

    @property
    def status(self) -> str:
        if self.problem:
            return self.problem
        if (self.path / "pruned.txt").is_file():  # written by `litlab sweep` when Optuna pruned the trial
            return "pruned"
        if not self.scalars:
            return "no metrics"
        if self.is_test_only:
            return "test only"
        if self.ended:
            return self.ended
        max_epochs = self.option("trainer", "max_epochs")
        if self.is_test_only or (isinstance(max_epochs, int) and self.epochs_done >= max_epochs):
            return "finished"
        return "incomplete"


def _read_scalars(path: Path) -> tuple[dict[str, Series], str | None]:
    accumulator = EventAccumulator(str(path), size_guidance=SIZE_GUIDANCE)
    accumulator.Reload()
    scalars = {
        tag: [(event.step, event.value, event.wall_time) for event in accumulator.Scalars(tag)]
        for tag in accumulator.Tags()["scalars"]
    }
    ended = None
    try:
        content = accumulator.PluginTagToContent(metadata.PLUGIN_NAME)
    except KeyError:  # no hparams records in this run
        content = {}
    if metadata.SESSION_END_INFO_TAG in content:
        status = metadata.parse_session_end_info_plugin_data(content[metadata.SESSION_END_INFO_TAG]).status
        ended = "finished" if status == api_pb2.STATUS_SUCCESS else "failed"
    return scalars, ended


def _ckpt_path(path: Path, config: dict[str, Any]) -> Path | None:
    """The evaluated checkpoint: from TestReport's JSON (absolute), else as typed on the command line."""
    report = path / "test_metrics.json"
    recorded = json.loads(report.read_text()).get("ckpt_path") if report.is_file() else None
    recorded = recorded or config.get("ckpt_path")
    return Path(recorded) if recorded else None


def load_run(path: Path, root: Path) -> Run:
    run = Run(path=path, name=str(path.relative_to(root)))
    try:
        if (path / "config.yaml").is_file():
            loaded = read_yaml(path / "config.yaml")
            run.config = loaded if isinstance(loaded, dict) else {}
        run.ckpt_path = _ckpt_path(path, run.config)
    except (OSError, ValueError, yaml.YAMLError) as error:
        run.problem = f"unreadable config ({type(error).__name__})"
    if not any(path.glob("events.out.tfevents.*")):
        run.problem = run.problem or "no events file"
        return run
    try:
        run.scalars, run.ended = _read_scalars(path)
    except Exception as error:  # whatever the reader raises on a corrupt file, the report goes on
        run.problem = f"unreadable events ({type(error).__name__})"
    return run


def _owner(run: Run, runs: list[Run], root: Path) -> Run | None:
    """The run whose `checkpoints/` folder holds `run.ckpt_path`, also after the log folder was moved."""
    ckpt = run.ckpt_path
    if ckpt is None or len(ckpt.parts) < 4 or ckpt.parent.name != "checkpoints":
        return None
    folders = {(base / ckpt).resolve().parent.parent for base in (Path.cwd(), root.resolve().parent)}
    suffix = Path(*ckpt.parts[-4:-2])  # <experiment>/<version>
    for candidate in runs:
        if candidate is not run and (candidate.path.resolve() in folders or Path(candidate.name) == suffix):
            return candidate
    return None


def _link_tests(runs: list[Run], root: Path) -> list[Run]:
    """Attach each test-only run to the fit run that wrote its checkpoint; return the runs left as rows."""
    linked = set()
    for run in sorted(runs, key=lambda r: r.started):  # a later test of the same checkpoints wins
        owner = _owner(run, runs, root) if run.is_test_only else None
        if owner is not None:
            owner.test_run = run
            linked.add(run.name)
    return [run for run in runs if run.name not in linked]


def find_runs(root: Path) -> tuple[list[Run], list[Path]]:
    """All runs under `root` (test runs folded into their fit run), and the empty folders that were skipped."""
    runs, empty = [], []
    folders = [p for p in [root, *root.rglob("*")] if p.is_dir() and "checkpoints" not in p.relative_to(root).parts]
    for folder in sorted(folders):
        if (folder / "config.yaml").is_file() or any(folder.glob("events.out.tfevents.*")):
            runs.append(load_run(folder, root))
        elif not any(folder.iterdir()):
            empty.append(folder)
    return _link_tests(runs, root), empty
