"""What a sweep leaves in its folder: best.yaml, sweep_summary.md, and Optuna's history and importance plots.

`best.yaml` is the best trial's own config.yaml (so `litlab fit --config best.yaml` trains exactly that
trial again) with the logger pointed at a new experiment `<sweep>_best`, so the re-run gets its own folder.
`sweep_summary.md` is also shown by `make report` (see `litlab.reporting`).
"""

import math
import os
import socket
import statistics
import warnings
from pathlib import Path
from typing import Any

import matplotlib
import optuna
import yaml

from litlab.reporting.sweeps import SUMMARY_FILE
from litlab.sweep.spec import SweepSpec
from litlab.sweep.workers import FINISHED

PLOTS = {"history": "optimization_history.png", "importances": "param_importances.png"}


def short_key(key: str) -> str:
    """`model.init_args.optimizer.init_args.lr` -> `model.optimizer.lr` for table headers."""
    return key.replace(".init_args", "")


def _format(value: Any) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.4g}"
    return "–" if value is None else str(value)


def write_best_config(study: optuna.Study, spec: SweepSpec) -> Path | None:
    """`<sweep>/best.yaml`, or None when no trial completed."""
    completed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not completed:
        return None
    best = study.best_trial
    config = yaml.safe_load((Path(best.user_attrs["run_dir"]) / "config.yaml").read_text())
    logger_args = config["trainer"]["logger"]["init_args"]
    logger_args.update(name=f"{spec.name}_best", version=None)
    header = f"# Trial {best.number} of sweep {spec.name}: {spec.metric} = {best.value:.6g}. Re-run it with\n"
    header += f"#   litlab fit --config {spec.folder / 'best.yaml'}\n"
    path = spec.folder / "best.yaml"
    _replace(path, header + yaml.safe_dump(config, sort_keys=False))
    return path


def write_plots(study: optuna.Study, folder: Path) -> list[str]:
    """Optuna's matplotlib optimization history and parameter importances; returns why a plot was left out."""
    matplotlib.use("Agg")
    from optuna.visualization import matplotlib as optuna_plots

    problems = []
    for name, plot in (
        ("history", optuna_plots.plot_optimization_history),
        ("importances", optuna_plots.plot_param_importances),
    ):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                axes = plot(study)
            axes.figure.savefig(folder / PLOTS[name], dpi=100, bbox_inches="tight")
            matplotlib.pyplot.close(axes.figure)
        except (ValueError, RuntimeError, ZeroDivisionError) as error:  # too few trials, a constant parameter
            (folder / PLOTS[name]).unlink(missing_ok=True)
            problems.append(f"no {name} plot: {error}")
    return problems


def summary_markdown(study: optuna.Study, spec: SweepSpec, notes: list[str]) -> str:
    trials = study.get_trials(deepcopy=False)
    states = {state.name.lower(): sum(t.state == state for t in trials) for state in optuna.trial.TrialState}
    finished = sum(t.state in FINISHED for t in trials)
    keys = sorted({key for t in trials for key in t.params})
    overhead = [t.user_attrs["seconds_overhead"] for t in trials if "seconds_overhead" in t.user_attrs]
    lines = [
        f"### Sweep `{spec.name}`",
        "",
        f"Objective {spec.metric} ({spec.direction}); {type(study.sampler).__name__}, {type(study.pruner).__name__}.",
        f"{finished} of {spec.n_trials} trials finished; "
        + ", ".join(f"{count} {state}" for state, count in states.items() if count)
        + ".",
    ]
    if states["fail"]:
        lines.append(
            "A failed trial diverged or raised an error (see the sweep's log), or its process died: then its folder "
            "has `interrupted.txt` and its parameters were queued again."
        )
    if any(t.state == optuna.trial.TrialState.COMPLETE for t in trials):
        best = study.best_trial
        params = ", ".join(f"{short_key(k)}={_format(v)}" for k, v in best.params.items())
        lines.append(f"Best: trial {best.number}, {spec.metric} = {best.value:.4f} ({params}); config: `best.yaml`.")
    if overhead:
        median = statistics.median(overhead)
        lines.append(f"Median time per trial outside `Trainer.fit` and `.test` (set-up, data, config): {median:.2f} s.")
    lines += [f"({note})" for note in notes]
    header = ["trial", "state", spec.metric, *map(short_key, keys), "run folder"]
    lines += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for t in trials:
        values = [_format(t.params.get(key)) for key in keys]
        run = Path(t.user_attrs.get("run_dir", "–")).name
        lines.append(
            f"| {t.number} | {t.state.name.lower()} | {_format(t.value)} | " + " | ".join(values) + f" | `{run}` |"
        )
    lines += ["", *(f"![{name}]({file})" for name, file in PLOTS.items() if (spec.folder / file).is_file()), ""]
    return "\n".join(lines)


def write_artifacts(study: optuna.Study, spec: SweepSpec) -> list[Path]:
    """Everything above, refreshed from the study as it is now (also after a partial or restarted sweep)."""
    if spec.seeds is not None:  # one config, several seeds: no "best" to pick, nothing to plot against
        written, notes = [], []
    else:
        written = [path for path in [write_best_config(study, spec)] if path is not None]
        notes = write_plots(study, spec.folder)
    summary = spec.folder / SUMMARY_FILE
    _replace(summary, summary_markdown(study, spec, notes))
    return [*written, summary, *(spec.folder / f for f in PLOTS.values() if (spec.folder / f).is_file())]


def _replace(path: Path, text: str) -> None:
    """Write via a temporary file and rename: workers on other machines may write the same file."""
    temp = path.with_name(f".{path.name}.{socket.gethostname()}.{os.getpid()}.tmp")
    temp.write_text(text)
    temp.replace(path)
