"""`litlab sweep`: an Optuna search (or repeated seeds) over `litlab fit` runs, resumable by re-running it.

    litlab sweep configs/sweeps/synthetic_mlp.yaml                       # the search the file describes
    litlab sweep configs/sweeps/synthetic_mlp.yaml --n-trials 40 --workers 4
    litlab sweep configs/sweeps/synthetic_mlp.yaml --storage postgresql://user@db-host/litlab   # on every node
    litlab sweep --config logs/sweeps/synthetic_mlp/best.yaml --seeds 5  # one config, five seeds
    litlab sweep configs/sweeps/synthetic_mlp.yaml --trainer.max_epochs 2   # other options: `litlab fit` overrides

Killed at any moment, the same command continues the study (see `litlab.sweep.storage`).
"""

import argparse
import importlib.util
from pathlib import Path

from litlab.command.errors import ConfigError, LitlabError
from litlab.sweep.spec import DEFAULT_HEARTBEAT_S, SweepSpec, read_sweep_file, seed_sweep


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="litlab sweep",
        usage="litlab sweep [SWEEP_FILE] [options] [--<litlab fit key> VALUE ...]",
        description=__doc__.split("\n\n")[0],
        epilog="Any other --key value is a `litlab fit` override applied to every trial.",
        allow_abbrev=False,
    )
    p.add_argument("--config", action="append", type=Path, default=[], help="experiment config(s); adds to the file's")
    p.add_argument(
        "--name", help="the sweep's name and folder under --out (default: the sweep file's or config's name)"
    )
    p.add_argument("--out", type=Path, default=Path("logs/sweeps"), help="where sweep folders go (default logs/sweeps)")
    p.add_argument("--n-trials", type=int, help="total finished trials the study should hold")
    p.add_argument("--workers", type=int, default=1, help="trial processes on this machine (default 1)")
    p.add_argument("--storage", help="Optuna storage URL shared by several machines, e.g. postgresql://...")
    p.add_argument("--seeds", type=int, help="run the config with seed_everything 0..N-1 instead of a search")
    p.add_argument("--heartbeat", type=int, default=DEFAULT_HEARTBEAT_S, help="seconds between trial heartbeats")
    return p


def build_spec(argv: list[str]) -> SweepSpec:
    """The sweep file, the options, and the remaining `litlab fit` overrides, as one SweepSpec."""
    sweep_file = Path(argv[0]) if argv and not argv[0].startswith("-") else None  # search space and settings
    options, fit_args = parser().parse_known_args(argv[1:] if sweep_file else argv)
    if fit_args and not fit_args[0].startswith("--"):
        raise ConfigError(f"litlab sweep: unexpected {fit_args[0]!r}; `litlab fit` overrides look like --key value.")
    content = read_sweep_file(sweep_file) if sweep_file else {}
    configs = [*content.pop("config", []), *options.config]
    if not configs:
        raise ConfigError("litlab sweep needs an experiment config: `config:` in the sweep file or --config.")
    default_name = sweep_file.stem if sweep_file else f"{configs[-1].stem}_seeds"
    if options.workers < 1 or (options.seeds is not None and options.seeds < 1):
        raise ConfigError("--workers and --seeds must be at least 1.")
    spec = SweepSpec(
        name=options.name or default_name,
        configs=configs,
        out=options.out,
        fit_args=fit_args,
        storage=options.storage,
        workers=options.workers,
        heartbeat_s=options.heartbeat,
        **{key: value for key, value in content.items() if value is not None},
    )
    if options.seeds is not None:
        seed_sweep(spec, options.seeds)
    if options.n_trials is not None:
        spec.n_trials = options.n_trials
    elif "n_trials" not in content and str(spec.sampler.get("name")).lower() == "grid":
        from litlab.sweep.space import parse_space
        from litlab.sweep.strategy import grid_size

        spec.n_trials = grid_size(parse_space(spec.params))
    return spec


def main(argv: list[str]) -> None:
    spec = build_spec(argv)
    if importlib.util.find_spec("optuna") is None or importlib.util.find_spec("optuna_integration") is None:
        raise LitlabError("litlab sweep needs Optuna: pip install -e '.[sweep]' (make install does).")
    from litlab.sweep.artifacts import write_artifacts  # deferred: Optuna's import is not free
    from litlab.sweep.workers import run_sweep

    study = run_sweep(spec)
    for path in write_artifacts(study, spec):
        print(f"litlab sweep: wrote {path}")
