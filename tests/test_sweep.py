"""`litlab sweep`: real sweeps of tiny synthetic runs in `litlab` subprocesses, checked against the Optuna study,
the runs' TensorBoard event files and numpy."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import optuna
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import metadata

from conftest import CONFIGS, LR, REPO, TINY, sweep_file


def litlab(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "litlab", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def study_of(folder: Path, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{folder / 'study.db'}")


def scalars(run: Path) -> dict[str, list[float]]:
    events = EventAccumulator(str(run), size_guidance={"scalars": 0})
    events.Reload()
    return {tag: [e.value for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def hparams(run: Path) -> dict[str, object]:
    events = EventAccumulator(str(run))
    events.Reload()
    content = events.PluginTagToContent(metadata.PLUGIN_NAME)[metadata.SESSION_START_INFO_TAG]
    start = metadata.parse_session_start_info_plugin_data(content)
    return {k: v.string_value or v.number_value for k, v in start.hparams.items()}


@pytest.mark.slow  # a sweep of real trials in processes: CI runs it (.ci/run)
def test_sweep_runs_prunes_and_leaves_a_best_config_that_reruns_to_the_same_value(tmp_path: Path) -> None:
    litlab(["sweep", str(sweep_file(tmp_path)), "--out", "logs/sweeps"], tmp_path)
    folder = tmp_path / "logs" / "sweeps" / "tiny"
    trials = study_of(folder, "tiny").get_trials()
    states = [t.state for t in trials]
    assert len(trials) == 4 and states[0] == optuna.trial.TrialState.COMPLETE
    assert optuna.trial.TrialState.PRUNED in states, states
    for trial in trials:  # each an ordinary run, its folder named after the trial
        run = folder / f"trial_{trial.number:04d}"
        assert (run / "config.yaml").is_file() and any(run.glob("events.out.tfevents.*"))
        assert hparams(run)["trial"] == trial.number and hparams(run)["sweep"] == "tiny"
        assert (run / "pruned.txt").is_file() == (trial.state == optuna.trial.TrialState.PRUNED)
        logged = scalars(run)["val/acc_best"]
        if trial.state == optuna.trial.TrialState.COMPLETE:
            assert any(run.glob("checkpoints/*.ckpt"))
            assert trial.value == pytest.approx(logged[-1], abs=1e-7)
        else:  # stopped after the epoch the pruner judged
            assert len(logged) == max(trial.intermediate_values) + 1 < TINY["trainer.max_epochs"]

    best = study_of(folder, "tiny").best_trial
    assert (folder / "optimization_history.png").stat().st_size > 0
    litlab(["fit", "--config", str(folder / "best.yaml")], tmp_path)
    rerun = scalars(tmp_path / "logs" / "sweeps" / "tiny_best" / "version_0")
    assert rerun["val/acc_best"][-1] == pytest.approx(best.value, abs=1e-6)

    subprocess.run([sys.executable, str(REPO / "scripts" / "report.py"), "--logdir", "logs"], cwd=tmp_path, check=True)
    report = (tmp_path / "logs" / "report.md").read_text()
    for trial in trials:
        status = "pruned" if trial.state == optuna.trial.TrialState.PRUNED else "finished"
        assert f"`sweeps/tiny/trial_{trial.number:04d}` | {status}" in report
    assert "### Sweep `tiny`" in report and f"Best: trial {best.number}" in report


def seed_rows(report: str) -> list[list[str]]:
    section = report.split("## Seeds")[1].split("\n## ")[0]
    return [[c.strip() for c in line.strip("|").split("|")] for line in section.splitlines() if line.startswith("| ")][
        1:
    ]


@pytest.mark.slow  # three seeded runs in processes: CI runs it (.ci/run)
def test_seeds_runs_one_config_per_seed_and_the_report_gives_mean_and_std(tmp_path: Path) -> None:
    args = [f"--{key}={json.dumps(value)}" for key, value in TINY.items()]
    litlab(["sweep", "--config", str(CONFIGS / "synthetic_mlp.yaml"), "--seeds", "3", "--out", "logs", *args], tmp_path)
    trials = study_of(tmp_path / "logs" / "synthetic_mlp_seeds", "synthetic_mlp_seeds").get_trials()
    assert sorted(t.params["seed_everything"] for t in trials) == [0, 1, 2]
    values = [t.value for t in trials]
    assert len(set(values)) > 1  # the seed changed something

    subprocess.run([sys.executable, str(REPO / "scripts" / "report.py"), "--logdir", "logs"], cwd=tmp_path, check=True)
    [row] = seed_rows((tmp_path / "logs" / "report.md").read_text())
    mean, std = map(float, re.match(r"([\d.]+) ± ([\d.]+)", row[4]).groups())
    assert row[2] == "3" and row[3] == "0 1 2"
    assert mean == pytest.approx(np.mean(values), abs=1e-4) and std == pytest.approx(np.std(values, ddof=1), abs=1e-4)


@pytest.mark.slow
def test_two_seed_groups_mark_a_lead_within_noise_as_such(tmp_path: Path) -> None:
    args = [f"--{key}={json.dumps(value)}" for key, value in TINY.items()]
    groups = {}
    for lr in ("0.01", "0.003"):
        name = f"lr{lr}"
        sweep = ["sweep", "--config", str(CONFIGS / "synthetic_mlp.yaml"), "--seeds", "3", "--out", "logs"]
        litlab([*sweep, "--name", name, *args, f"--{LR}", lr], tmp_path)
        groups[name] = [t.value for t in study_of(tmp_path / "logs" / name, name).get_trials()]
    subprocess.run([sys.executable, str(REPO / "scripts" / "report.py"), "--logdir", "logs"], cwd=tmp_path, check=True)
    rows = seed_rows((tmp_path / "logs" / "report.md").read_text())
    stats = sorted(((np.mean(v), np.std(v, ddof=1), len(v)) for v in groups.values()), reverse=True)
    (m1, s1, n1), (m2, s2, n2) = stats
    noise = abs(m1 - m2) < 2 * np.sqrt(s1**2 / n1 + s2**2 / n2)
    assert float(rows[0][4].split(" ± ")[0]) == pytest.approx(m1, abs=1e-4)
    assert rows[0][-1] == ("best, but within seed noise of #2" if noise else "best, beyond seed noise")


def _states(folder: Path, name: str) -> list[optuna.trial.FrozenTrial]:
    try:
        return study_of(folder, name).get_trials()
    except Exception:  # the study is not created yet
        return []


@pytest.mark.slow
def test_a_sigkilled_sweep_resumes_keeping_finished_trials_and_retrying_the_killed_one(tmp_path: Path) -> None:
    path = sweep_file(tmp_path, pruner={"name": "none"}, enqueue=[])
    command = [sys.executable, "-m", "litlab", "sweep", str(path), "--out", "logs", "--heartbeat", "1"]
    folder = tmp_path / "logs" / "tiny"
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # kill mid-training of the second trial or later
        trials = _states(folder, "tiny")
        running = [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]
        complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
        if complete and running and any((folder / f"trial_{running[0].number:04d}").glob("events.*")):
            break
        time.sleep(0.2)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    before = {t.number: t for t in _states(folder, "tiny") if t.state == optuna.trial.TrialState.COMPLETE}
    [killed] = [t for t in _states(folder, "tiny") if t.state == optuna.trial.TrialState.RUNNING]
    written = {n: next((folder / f"trial_{n:04d}").glob("events.*")).stat().st_mtime_ns for n in before}
    time.sleep(2.5)  # past the grace period (2 heartbeats)

    subprocess.run(command, cwd=tmp_path, check=True, capture_output=True)
    after = study_of(folder, "tiny").get_trials()
    finished = [t for t in after if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(finished) == 4  # the total, not four more
    assert after[killed.number].state == optuna.trial.TrialState.FAIL
    assert (folder / f"trial_{killed.number:04d}" / "interrupted.txt").is_file()
    [retry] = [t for t in after if t.system_attrs.get("failed_trial") == killed.number]
    assert retry.params == killed.params and retry.state == optuna.trial.TrialState.COMPLETE
    for number, trial in before.items():  # kept, not run again
        assert after[number].value == trial.value
        assert next((folder / f"trial_{number:04d}").glob("events.*")).stat().st_mtime_ns == written[number]
    assert {tuple(t.params.items()) for t in finished if t.number != retry.number}.isdisjoint(
        {tuple(killed.params.items())}
    )


@pytest.mark.slow
def test_workers_share_one_journal_study(tmp_path: Path) -> None:
    path = sweep_file(tmp_path, pruner={"name": "none"})
    litlab(["sweep", str(path), "--out", "logs", "--workers", "2"], tmp_path)
    folder = tmp_path / "logs" / "tiny"
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(folder / "study.journal")))
    trials = optuna.load_study(study_name="tiny", storage=storage).get_trials()
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers)) and 4 <= len(trials) <= 5  # at most workers - 1 beyond the total
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    for number in numbers:  # one process per run folder: one events file each
        assert len(list((folder / f"trial_{number:04d}").glob("events.*"))) == 1


@pytest.mark.parametrize("path", sorted((CONFIGS / "sweeps").glob("*.yaml")), ids=lambda path: path.name)
def test_every_choice_of_a_shipped_sweep_file_resolves_through_litlab_fit(path: Path, in_tmp: Path) -> None:
    from litlab.sweep.command import build_spec
    from litlab.sweep.space import parse_space, suggest_overrides
    from litlab.sweep.trial_run import build_cli, trial_args

    spec = build_spec([str(path)])
    space = parse_space(spec.params)
    base = {p.key: p.distribution.to_external_repr(p.distribution.low) for p in space if hasattr(p.distribution, "low")}
    choices = [(p.key, label) for p in space if p.values for label in p.distribution.choices]
    for key, label in choices:  # each class choice, with the searched keys below it applied after it
        params = {**base, **{p.key: p.distribution.choices[0] for p in space if p.values}, key: label}
        trial = optuna.trial.FixedTrial(params)
        config = build_cli(trial_args(spec, suggest_overrides(trial, space), "check")[1:], run=False).config
        for name, value in params.items():
            node = config
            for part in name.split("."):
                node = node[part]
            resolved = node.class_path.rsplit(".", 1)[-1] if hasattr(node, "class_path") else node
            assert resolved == value, (name, resolved, value)
