"""docs/tasks.md's custom-loss example trains exactly as printed: a loss from the user's own file, by class_path,
with class weights computed from the training labels."""

import re
from pathlib import Path

import pytest

from conftest import REPO
from litlab.command.cli import build_cli

EXAMPLE = re.compile(r"<!-- doc-example: (?P<name>\S+) -->\n```\w+\n(?P<body>.*?)```", re.DOTALL)


def test_the_custom_loss_example_trains_with_balanced_weights(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {m["name"]: m["body"] for m in EXAMPLE.finditer((REPO / "docs" / "tasks.md").read_text())}
    assert set(files) == {"my_losses.py", "poly_demo.yaml"}
    for name, body in files.items():
        (in_tmp / name).write_text(body)
    monkeypatch.syspath_prepend(str(in_tmp))
    cli = build_cli(["fit", "--config", "poly_demo.yaml", "--trainer.enable_progress_bar", "false"])
    loss = cli.model.loss
    assert type(loss).__name__ == "PolyLoss" and loss.weight is not None and len(loss.weight) == 4
    metrics = cli.trainer.callback_metrics
    assert metrics["test/acc"] > 0.8  # 4 classes: chance is 0.25
    assert metrics["test/objective"] != metrics["test/loss"]  # PolyLoss with weights beside plain cross-entropy
    assert (in_tmp / "logs" / "poly_demo" / "version_0" / "config.yaml").is_file()
