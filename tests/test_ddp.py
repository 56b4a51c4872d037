"""DDP with two CPU processes (gloo), launched as a user would: a real `litlab` process with the ddp preset."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import CONFIGS, fast_synthetic_args

TRAIN_SAMPLES, BATCH, EPOCHS = 512, 128, 2


@pytest.mark.slow  # two DDP processes: CI runs it (.ci/run)
def test_two_process_fit_shards_data_and_only_rank_zero_writes(tmp_path: Path) -> None:
    args = [*fast_synthetic_args(tmp_path / "logs", epochs=EPOCHS), "--config", str(CONFIGS / "trainer" / "ddp.yaml"),
            "--trainer.accelerator", "cpu", "--trainer.devices", "2"]  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "litlab", "fit", *args], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Initializing distributed: GLOBAL_RANK: 1, MEMBER: 2/2" in result.stderr + result.stdout

    runs = sorted((tmp_path / "logs" / "synthetic_mlp").iterdir())
    assert [r.name for r in runs] == ["version_0"], "a second rank created its own run directory"
    run = runs[0]
    writers = {path.name.split(".")[-2] for path in run.glob("events.out.tfevents.*")}  # .<host>.<pid>.<n>
    assert len(writers) == 1, "events from more than one process"
    assert len(list(run.glob("config.yaml"))) == 1
    checkpoints = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert "last.ckpt" in checkpoints and len(checkpoints) == 2

    last = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    steps_per_rank = TRAIN_SAMPLES // 2 // BATCH  # each rank saw half of the training set
    assert last["global_step"] == EPOCHS * steps_per_rank
    assert (run / "config.yaml").read_text().count("strategy: ddp") == 1
    assert list(tmp_path.iterdir()) == [tmp_path / "logs"]
