"""The gap-analysis section: each ablation of the recipe against the recipe as shipped, over the same seeds."""

import statistics
from collections.abc import Sequence

from benchmarks.litlab_api import markdown_table
from benchmarks.speed_plan import ABLATIONS
from benchmarks.speed_report import spread
from benchmarks.speed_runs import RunRecord


def final_by_seed(records: Sequence[RunRecord]) -> dict[int, float]:
    return {r.seed: r.epochs[-1].acc for r in records if r.epochs}


def paired_change(finals: dict[int, float], baseline: dict[int, float]) -> str:
    """The change from the baseline in points, seed by seed (a seed's run is compared with the same seed's
    baseline, which removes most of the seed-to-seed spread): the mean, and the sd from two seeds on."""
    changes = [100 * (finals[seed] - baseline[seed]) for seed in sorted(finals.keys() & baseline.keys())]
    if not changes:
        return "–"
    mean = f"{statistics.fmean(changes):+.2f}"
    return mean if len(changes) < 2 else f"{mean} ± {statistics.stdev(changes):.2f}"


def ablation_section(found: list[tuple[str, RunRecord]], header: str, notes: Sequence[str] = ()) -> str:
    """One row per (ablation, side): what changed, runs, final accuracy, change from the same side's baseline."""
    what = {a.name: a.what + (f" (`{' '.join(a.args)}`)" if a.args else "") for a in ABLATIONS}
    what.update({a.name: f"{a.what} (callbacks left out: {', '.join(a.without)})" for a in ABLATIONS if a.without})
    groups: dict[tuple[str, str], list[RunRecord]] = {}
    for name, record in found:
        groups.setdefault((name, record.side.split(" ")[0]), []).append(record)
    baseline = {side: final_by_seed(runs) for (name, side), runs in groups.items() if name == "recipe"}
    rows = []
    for (name, side), records in groups.items():
        finals = final_by_seed(records)
        train = spread([r.epochs[-1].train_s for r in records if r.epochs], 1 / 60)
        delta = paired_change(finals, baseline.get(side, {}))
        rows.append([name, side, what[name], str(len(records)), spread(list(finals.values()), 100), delta, train])
    headers = ["ablation", "side", "what changes", "runs", "final test acc %", "change (points)", "train min"]
    return "\n".join(
        [
            "## Gap analysis: ablations (`benchmarks/airbench_side_by_side.py --ablations`)",
            "",
            header + ". Each row changes one thing; the change is against the same side's shipped recipe on the"
            " once-encoded copy (airbench94 runs only where just the data changes), seed by seed: the mean ± sd of"
            " the per-seed differences.",
            "",
            markdown_table(headers, rows, align="lllrrrr"),
            *(f"\n{note}" for note in notes),
        ]
    )
