"""The CPU DDP commands of docs/distributed.md, run as shown (shrunk to a few batches): an MLP, and a CNN with
BatchNorm under the preset's `sync_batchnorm: true`, which torch supports on GPUs only."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, fast_synthetic_args, write_image_folder

# Per config: what shrinks its shown command to seconds (everything else as shown).
SHRINK = {
    "configs/synthetic_mlp.yaml": fast_synthetic_args(Path("logs"), epochs=1)[2:],
    "configs/cifar10_cnn.yaml": [
        "--trainer.max_epochs", "1", "--trainer.enable_progress_bar", "false", "--data.init_args.batch_size", "8",
        "--data.init_args.num_workers", "0", "--model.init_args.backbone.init_args.width", "4",
    ],
}  # fmt: skip


def cpu_ddp_commands() -> list[list[str]]:
    text = (REPO / "docs" / "distributed.md").read_text().replace("\\\n", " ")
    lines = [line.split("#")[0] for line in text.splitlines() if line.startswith("litlab fit")]
    return [shlex.split(line)[2:] for line in lines if "ddp.yaml" in line and "--trainer.accelerator cpu" in line]


def test_the_docs_show_an_mlp_and_a_cnn() -> None:
    configs = [args[args.index("--config") + 1] for args in cpu_ddp_commands()]
    assert configs == list(SHRINK)


@pytest.mark.slow
@pytest.mark.parametrize("args", cpu_ddp_commands(), ids=lambda args: Path(args[1]).stem)
def test_cpu_ddp_command_trains_with_no_stray_run_folder(args: list[str], tmp_path: Path) -> None:
    write_image_folder(tmp_path / "data" / "cifar10-jpg", {"train": 12, "test": 4}, size=32, suffix=".jpg")
    for config in {a for a in args if a.startswith("configs/")}:
        (tmp_path / config).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / config).write_text((REPO / config).read_text())
    result = subprocess.run(
        [sys.executable, "-m", "litlab", "fit", *args, *SHRINK[args[1]]],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Traceback" not in output
    uses_batchnorm = "cnn" in args[1]
    assert ("sync_batchnorm is off on CPU" in output) == uses_batchnorm
    runs = list((tmp_path / "logs").glob("*/version_*"))
    assert len(runs) == 1, runs
    assert re.search(r"test/acc\b", output)
