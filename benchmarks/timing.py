"""Interleaved repeated measurements and their summaries: medians, ranges and ratios.

Timings on a shared or thermally throttled machine drift over minutes. Running the variants in turn
(A, B, A, B, ...) inside one process exposes each to the same drift, so their ratio stays meaningful
when their absolute times do not. Medians and min-max ranges are reported instead of means because a
single stalled run (another process, a page fault storm) should move neither.
"""

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    """Median and range of repeated measurements."""

    median: float
    low: float
    high: float
    runs: int

    @classmethod
    def of(cls, values: Sequence[float]) -> "Summary":
        if not values:
            raise ValueError("no measurements to summarise")
        return cls(statistics.median(values), min(values), max(values), len(values))

    def scaled(self, factor: float) -> "Summary":
        """The same summary in other units, e.g. `scaled(1e3)` for seconds -> milliseconds."""
        return Summary(self.median * factor, self.low * factor, self.high * factor, self.runs)

    def format(self, digits: int = 2) -> str:
        return f"{self.median:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def interleave(variants: Mapping[str, Callable[[], float]], runs: int) -> dict[str, list[float]]:
    """Call each variant once per round, in the given order, for `runs` rounds; collect what each returns."""
    results: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(runs):
        for name, measure in variants.items():
            results[name].append(measure())
    return results


def ratio(numerator: Sequence[float], denominator: Sequence[float]) -> Summary:
    """`numerator / denominator` per round (the runs made side by side), summarised.

    Pairing by round cancels drift that affects both runs of a round alike.
    """
    if len(numerator) != len(denominator):
        raise ValueError("ratio needs the same number of runs on both sides")
    return Summary.of([a / b for a, b in zip(numerator, denominator, strict=True)])


def difference(minuend: Sequence[float], subtrahend: Sequence[float]) -> Summary:
    """`minuend - subtrahend` per round, summarised (e.g. the per-step overhead in seconds)."""
    if len(minuend) != len(subtrahend):
        raise ValueError("difference needs the same number of runs on both sides")
    return Summary.of([a - b for a, b in zip(minuend, subtrahend, strict=True)])
