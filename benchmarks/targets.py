"""The targets table of RESULTS.md, regenerated from the figures the benchmark scripts leave, never by hand.

Each script that measures a target writes `figures/<script>.json` beside the results file:
`{"script", "date", "host", "targets": [{"target", "measured", "runs", "status"}]}`, then calls
`write_targets`, which renders every figures file it finds into the `targets` section.
"""

import datetime
import json
from pathlib import Path

from benchmarks.litlab_api import cpu_capability, markdown_table, write_section


def host_line() -> str:
    """The machine, as the figures' header states it: CPU capability (litlab's cpu_precision) and GPU, if any."""
    import os

    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{os.cpu_count()} CPU cores ({cpu_capability()}), {gpu}"


def versions() -> str:
    """torch, lightning, airbench and litlab versions ("not installed" where a package is missing)."""
    from importlib.metadata import PackageNotFoundError, version

    def one(name: str) -> str:
        try:
            return f"{name} {version(name)}"
        except PackageNotFoundError:
            return f"{name} not installed (from the checkout)" if name == "litlab" else f"{name} not installed"

    return ", ".join(one(name) for name in ("torch", "lightning", "airbench", "litlab"))


def save_figures(results: Path, script: str, targets: list[dict]) -> Path:
    """`figures/<script>.json` beside `results`, with today's date and this host."""
    path = results.parent / "figures" / f"{script}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    path.write_text(json.dumps({"script": script, "date": now, "host": host_line(), "targets": targets}, indent=1))
    return path


def write_targets(results: Path) -> None:
    """Render every figures file beside `results` into its `targets` section."""
    rows = []
    for path in sorted((results.parent / "figures").glob("*.json")):
        figures = json.loads(path.read_text())
        source = f"`benchmarks/{figures['script']}.py`, {figures['date']}, {figures['host']}"
        rows += [[t["target"], t["measured"], str(t["runs"]), t["status"], source] for t in figures["targets"]]
    table = markdown_table(["Target", "Measured (mean ± sd [min, max])", "runs", "Status", "measured by, when, where"],
                           rows, align="llrll")  # fmt: skip
    text = "\n".join(["## Targets (issue #17), generated from benchmarks/figures/*.json", "", table])
    write_section(results, "targets", text)
