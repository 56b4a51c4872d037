"""What a `litlab` run prints: no lines a user cannot act on, the ones that matter, and a closing summary."""

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import fast_synthetic_args


def litlab(*args: str, cwd: Path) -> str:
    result = subprocess.run([sys.executable, "-m", "litlab", *args], cwd=cwd, capture_output=True, text=True,
                            timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


@pytest.mark.slow  # fit, test and predict as litlab processes: CI runs it (.ci/run)
def test_a_run_prints_what_matters_and_ends_with_where_it_is(tmp_path: Path) -> None:
    args = [*fast_synthetic_args(tmp_path / "logs", epochs=1), "--data.init_args.sizes", "[128, 64, 64]"]
    swapped = ["--model.init_args.optimizer", "torch.optim.Adam"]  # the demo's AdamW has weight_decay 0.01
    out = litlab("fit", *args, *swapped, cwd=tmp_path)
    for noise in ("litlogger", "TPU available", "HPU available", "LeafSpec"):
        assert noise not in out, noise
    assert "GPU available: False, used: False" in out  # devices stay
    run = tmp_path / "logs" / "synthetic_mlp" / "version_0"
    summary = next(line for line in out.splitlines() if "Run saved in" in line)
    assert str(run) in summary and "val/acc_best" in summary and "test/acc" in summary
    note = next(line for line in out.splitlines() if line.startswith("Note: --model.init_args.optimizer"))
    assert "torch.optim.Adam" in note and "weight_decay=0.01" in note and "lr=" not in note  # lr is Adam's default

    resumed = litlab("fit", *args, *swapped, "--ckpt_path", "last", "--trainer.max_epochs", "2", cwd=tmp_path)
    assert "exists and is not empty" not in resumed and "Resuming" in resumed
