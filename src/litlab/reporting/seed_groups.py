"""Runs that differ only in their seed, as one row each: mean ± standard deviation and n, best first.

Finished runs are in one group when their config.yaml files are equal after removing `seed_everything`, the
logger's `version` (every run has its own folder) and `ckpt_path`, and the group holds two seeds or more (a
retried sweep trial is the same config with the same seed, not a second sample). The standard deviation is the sample
one (n - 1). The best group's lead is "within seed noise" when it is smaller than two standard errors of
the difference of the two best means, sqrt(s1²/n1 + s2²/n2): about what a 95% interval would call
indistinguishable, so the ranking of those two groups is not a finding.
"""

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from litlab.reporting.runs import Run

METRICS = (("best val acc", "val/acc", True), ("test acc", "test/acc", False))


def _without_seed(config: dict[str, Any]) -> str:
    config = json.loads(json.dumps(config, default=str))  # a deep copy
    config.pop("seed_everything", None)
    config.pop("ckpt_path", None)
    logger = (config.get("trainer") or {}).get("logger")
    for entry in logger if isinstance(logger, list) else [logger]:
        if isinstance(entry, dict) and isinstance(entry.get("init_args"), dict):
            entry["init_args"].pop("version", None)
    return json.dumps(config, sort_keys=True)


@dataclass
class SeedGroup:
    runs: list[Run]

    def values(self, tag: str, best: bool) -> list[float]:
        found = [run.best(tag) if best else run.test_metric(tag) for run in self.runs]
        return [v for v in found if v is not None and not math.isnan(v)]

    def stats(self, tag: str, best: bool) -> tuple[float, float, int] | None:
        values = self.values(tag, best)
        if len(values) < 2:
            return None
        return float(np.mean(values)), float(np.std(values, ddof=1)), len(values)


def seed_groups(runs: list[Run]) -> list[SeedGroup]:
    """Finished runs with the same config but at least two different seeds, best mean validation accuracy first."""
    by_config: dict[str, list[Run]] = {}
    for run in runs:
        if run.config and run.status == "finished":  # a killed, failed or pruned run is no sample of the config
            by_config.setdefault(_without_seed(run.config), []).append(run)
    groups = [SeedGroup(members) for members in by_config.values() if len(_seeds(members)) >= 2]
    return sorted(groups, key=lambda g: -(g.stats("val/acc", True) or (-1.0,))[0])


def _seeds(runs: list[Run]) -> set[object]:
    return {run.config.get("seed_everything") for run in runs}


def within_noise(first: tuple[float, float, int], second: tuple[float, float, int]) -> bool:
    (m1, s1, n1), (m2, s2, n2) = first, second
    return abs(m1 - m2) < 2 * math.sqrt(s1**2 / n1 + s2**2 / n2)


def _cell(stats: tuple[float, float, int] | None) -> str:
    return "–" if stats is None else f"{stats[0]:.4f} ± {stats[1]:.4f}"


def seed_group_lines(runs: list[Run]) -> list[str]:
    """The report's "Seeds" section; empty when no two runs differ only in seed."""
    groups = seed_groups(runs)
    if not groups:
        return []
    lines = [
        "## Seeds: runs that differ only in seed",
        "",
        "Mean ± sample standard deviation over n seeds. A lead within seed noise is smaller than two standard",
        "errors of the difference of means (see `litlab.reporting.seed_groups`).",
        "",
        "| # | runs | n | seeds | " + " | ".join(name for name, _, _ in METRICS) + " | note |",
        "|" + "---|" * (5 + len(METRICS)),
    ]
    best = groups[0].stats("val/acc", True)
    runner_up = groups[1].stats("val/acc", True) if len(groups) > 1 else None
    for rank, group in enumerate(groups, start=1):
        seeds = sorted(str(run.config.get("seed_everything")) for run in group.runs)
        cells = [_cell(group.stats(tag, best_of)) for _, tag, best_of in METRICS]
        note = ""
        if rank == 1 and best and runner_up:
            note = "best, but within seed noise of #2" if within_noise(best, runner_up) else "best, beyond seed noise"
        names = ", ".join(f"`{run.name}`" for run in group.runs)
        lines.append(
            f"| {rank} | {names} | {len(group.runs)} | {' '.join(seeds)} | " + " | ".join(cells) + f" | {note} |"
        )
    return lines + [""]
