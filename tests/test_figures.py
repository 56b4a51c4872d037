"""A measured time is stated once, in benchmarks/RESULTS.md; the README, docs, configs and Makefile point to it."""

import re

from conftest import REPO

# "15 s", "30 seconds", "2 min", "under a minute", "in seconds" next to the demo
TIME = re.compile(r"\b\d+(?:[-–]\d+)?\s*(?:s|sec|seconds|min|minutes)\b|\bunder a minute\b", re.IGNORECASE)


def test_the_demo_time_is_given_in_results_only() -> None:
    places = [REPO / "README.md", REPO / "Makefile", *(REPO / "docs").glob("*.md"), *(REPO / "configs").rglob("*.yaml")]
    stated = [
        f"{path.relative_to(REPO)}: {line.strip()}"
        for path in places
        for line in path.read_text().splitlines()
        if "demo" in line.lower() and TIME.search(line)
    ]
    assert stated == []
    results = (REPO / "benchmarks" / "RESULTS.md").read_text()
    assert any("demo" in line and TIME.search(line) for line in results.splitlines())
