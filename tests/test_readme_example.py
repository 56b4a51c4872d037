"""The README's "your own model and dataset" example runs exactly as printed."""

import re
from pathlib import Path

import pytest

from conftest import REPO
from litlab.command.cli import build_cli

EXAMPLE = re.compile(r"<!-- readme-example: (?P<name>\S+) -->\n```\w+\n(?P<body>.*?)```", re.DOTALL)


def readme_files() -> dict[str, str]:
    return {m["name"]: m["body"] for m in EXAMPLE.finditer((REPO / "README.md").read_text())}


def test_readme_example_trains_a_custom_model_on_a_custom_dataset(in_tmp: Path, monkeypatch) -> None:
    files = readme_files()
    assert set(files) == {"my_project.py", "moons.yaml"}
    for name, body in files.items():
        (in_tmp / name).write_text(body)
    monkeypatch.syspath_prepend(str(in_tmp))
    cli = build_cli(["fit", "--config", "moons.yaml", "--trainer.enable_progress_bar", "false"])
    assert type(cli.model.backbone).__name__ == "WideLinear"
    assert cli.trainer.callback_metrics["val/acc"] == pytest.approx(0.99, abs=0.02)
    assert (in_tmp / "logs" / "moons" / "version_0" / "config.yaml").is_file()
