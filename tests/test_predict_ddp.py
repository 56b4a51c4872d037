"""Under DDP (2 CPU processes, the README's command) `litlab predict` writes one file: every input once, in order,
with the one-process values. 255 test samples: the two processes get unequal shares."""

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CONFIGS, fast_synthetic_args
from litlab.command.cli import main


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open() as file:
        return list(csv.DictReader(file))


@pytest.mark.slow
def test_two_processes_write_every_input_once_in_order(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    main(["fit", *fast_synthetic_args(logs, epochs=1), "--data.init_args.sizes", "[512, 64, 255]",
          "--test_after_fit", "false"])  # fmt: skip
    (run,) = (logs / "synthetic_mlp").iterdir()
    predict = ["predict", "--config", str(run / "config.yaml"), "--ckpt_path", str(run / "checkpoints" / "last.ckpt")]
    main([*predict, "--output", str(tmp_path / "one.csv"), "--trainer.enable_progress_bar", "false"])
    ddp = ["--config", str(CONFIGS / "trainer" / "ddp.yaml"), "--trainer.accelerator", "cpu", "--trainer.devices", "2"]
    result = subprocess.run(
        [sys.executable, "-m", "litlab", *predict, *ddp, "--output", str(tmp_path / "two.csv")],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "MEMBER: 2/2" in result.stdout + result.stderr  # really two processes
    assert result.stdout.count("Predictions for 255 inputs") == 1  # one summary, from rank 0
    one, two = read_rows(tmp_path / "one.csv"), read_rows(tmp_path / "two.csv")
    assert [int(r["index"]) for r in two] == list(range(255))
    assert [(r["label"], r["predicted"]) for r in two] == [(r["label"], r["predicted"]) for r in one]
    for a, b in zip(one, two, strict=True):
        assert float(a["probability"]) == pytest.approx(float(b["probability"]), abs=1e-6)
    assert [p.name for p in run.parent.iterdir()] == [run.name]
