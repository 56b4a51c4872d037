"""Summaries of the speed benchmarks' runs: mean and spread over seeds, per epoch and per run, as Markdown."""

import statistics
from collections import defaultdict
from collections.abc import Sequence

from benchmarks.litlab_api import markdown_table
from benchmarks.speed_runs import RunRecord


def spread(values: Sequence[float], scale: float = 1.0, digits: int = 2) -> str:
    """'mean ± sd [min, max]' of `values` times `scale`; the sd and range only from two values on."""
    if not values:
        return "–"
    scaled = [v * scale for v in values]
    mean = f"{statistics.fmean(scaled):.{digits}f}"
    if len(scaled) < 2:
        return mean
    return f"{mean} ± {statistics.stdev(scaled):.{digits}f} [{min(scaled):.{digits}f}, {max(scaled):.{digits}f}]"


def by_side(runs: Sequence[RunRecord]) -> dict[str, list[RunRecord]]:
    sides: dict[str, list[RunRecord]] = defaultdict(list)
    for record in runs:
        sides[record.side].append(record)
    return dict(sides)


def minutes_to(record: RunRecord, accuracy: float) -> float | None:
    """Training minutes at the end of the first epoch scored at or above `accuracy`."""
    return next((e.train_s / 60 for e in record.epochs if e.acc >= accuracy), None)


def best_within(record: RunRecord, minutes: float) -> float | None:
    """The best test accuracy among the epochs that ended within `minutes` of training."""
    return max((e.acc for e in record.epochs if e.train_s <= minutes * 60), default=None)


def per_epoch_table(runs: Sequence[RunRecord]) -> str:
    """One row per epoch; for each side its cumulative training minutes and test accuracy (%) over seeds."""
    sides = by_side(runs)
    longest = max((len(r.epochs) for r in runs), default=0)
    headers = ["epoch"] + [f"{side} {what}" for side in sides for what in ("train min", "test acc %")]
    rows = []
    for index in range(longest):
        row = [str(index + 1)]
        for records in sides.values():
            epochs = [r.epochs[index] for r in records if len(r.epochs) > index]
            row += [spread([e.train_s for e in epochs], 1 / 60), spread([e.acc for e in epochs], 100)]
        rows.append(row)
    return markdown_table(headers, rows)


def per_run_table(runs: Sequence[RunRecord], bars: Sequence[float]) -> str:
    """One row per side: runs, epochs, final accuracy, training and wall minutes, minutes to each bar."""
    headers = ["side", "runs", "epochs", "final test acc %", "train min", "wall min"]
    headers += [f"train min to {bar:.0%} (runs reaching it)" for bar in bars]
    rows = []
    for side, records in by_side(runs).items():
        finished = [r for r in records if r.epochs]
        row = [side, str(len(records)), "/".join(sorted({str(r.epochs[-1].epoch) for r in finished}))]
        row.append(spread([r.epochs[-1].acc for r in finished], 100))
        row.append(spread([r.epochs[-1].train_s for r in finished], 1 / 60))
        row.append(spread([r.wall_s for r in records], 1 / 60))
        for bar in bars:
            reached = [m for m in (minutes_to(r, bar) for r in finished) if m is not None]
            row.append(f"{spread(reached)} ({len(reached)}/{len(finished)})")
        rows.append(row)
    return markdown_table(headers, rows)


def target_rows(runs: Sequence[RunRecord], sides: Sequence[str], targets: Sequence[tuple[float, float]]) -> list[dict]:
    """For each (minutes, accuracy) target: the best accuracy within the time over every seed of each side
    in `sides`, the side that did best on average, and whether every seed of it met the target."""
    found = []
    for minutes, accuracy in targets:
        best_side, best_scores = None, []
        for side in sides:
            records = by_side(runs).get(side, [])
            scores = [best_within(r, minutes) or 0.0 for r in records]
            if scores and (not best_scores or statistics.fmean(scores) > statistics.fmean(best_scores)):
                best_side, best_scores = side, scores
        met = bool(best_scores) and all(s >= accuracy for s in best_scores)
        measured = "no run" if best_side is None else f"{best_side}: best within the time {spread(best_scores, 100)}%"
        status = "met" if met else "NOT met" if best_scores else "not run"
        found.append({"target": f">= {accuracy:.0%} within {minutes:g} min (CPU)", "measured": measured,
                      "runs": len(best_scores), "status": status})  # fmt: skip
    return found
