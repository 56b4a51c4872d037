"""DDP that reports the same numbers as one process, writes once, and does not hang when a process dies.

Two CPU processes (gloo), launched as a user would: a real `litlab` process with the ddp preset. The
evaluation sets have odd sizes, so plain DistributedSampler padding would score one sample twice.
"""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import CONFIGS, fast_synthetic_args
from litlab.command.cli import build_cli

SIZES = "[512, 257, 255]"  # train, val, test: val and test not divisible by 2
TOLERANCE = 1e-6  # counts are exact; means of floats summed in another order differ in the last bits


def two_processes(*strategy: str) -> list[str]:
    preset = ["--config", str(CONFIGS / "trainer" / "ddp.yaml"), *strategy]
    return [*preset, "--trainer.accelerator", "cpu", "--trainer.devices", "2"]


def litlab(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "litlab", *args], cwd=cwd, capture_output=True, text=True,
                            timeout=timeout)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    logs = tmp_path_factory.mktemp("fit")
    cli = build_cli(["fit", *fast_synthetic_args(logs, epochs=1), "--data.init_args.sizes", SIZES])
    return Path(cli.trainer.log_dir) / "checkpoints" / "last.ckpt"


def read_test_report(run: Path) -> tuple[dict[str, float], int]:
    """The `test/` metrics TestReport wrote, and how many samples its confusion matrix counted."""
    metrics = json.loads((run / "test_metrics.json").read_text())["metrics"]
    with (run / "confusion_matrix.csv").open() as file:
        rows = list(csv.reader(file))[1:]
    return metrics, sum(int(v) for row in rows for v in row[1:])


@pytest.mark.slow  # two processes fit, test and validate; CI runs it (.ci/run)
def test_two_processes_score_each_test_sample_once_and_agree_with_one(checkpoint: Path, tmp_path: Path) -> None:
    run = checkpoint.parent.parent  # both tests log into the run that wrote the checkpoint
    fit_config = (run / "config.yaml").read_bytes()
    common = ["--data.init_args.sizes", SIZES, "--ckpt_path", str(checkpoint)]
    build_cli(["test", *fast_synthetic_args(tmp_path / "one"), *common])
    one, one_count = read_test_report(run)

    litlab(["test", *fast_synthetic_args(tmp_path / "two"), *common, *two_processes()], cwd=tmp_path)
    assert [r.name for r in run.parent.iterdir()] == [run.name] and not (tmp_path / "two").exists()
    two, two_count = read_test_report(run)

    assert one_count == two_count == 255
    assert one.keys() == two.keys() and {"test/acc", "test/loss", "test/f1"} <= one.keys()
    for key, value in one.items():
        assert two[key] == pytest.approx(value, abs=TOLERANCE), key
    assert (run / "config.yaml").read_bytes() == fit_config  # the training run's config is never overwritten


def scalars(run: Path) -> dict[str, float]:
    events = EventAccumulator(str(run), size_guidance={"scalars": 0})
    events.Reload()
    return {tag: events.Scalars(tag)[-1].value for tag in events.Tags()["scalars"] if tag.startswith("val/")}


@pytest.mark.slow
def test_validation_agrees_with_one_process_where_plain_ddp_does_not(checkpoint: Path, tmp_path: Path) -> None:
    """`litlab validate` on 257 samples: ddp_litlab matches one process; Lightning's plain `ddp` scores 258."""
    base = ["validate", "--data.init_args.sizes", SIZES, "--ckpt_path", str(checkpoint)]
    single = build_cli([base[0], *fast_synthetic_args(tmp_path / "one"), *base[1:]])
    one = {k: v.item() for k, v in single.trainer.callback_metrics.items() if k.startswith("val/")}

    results = {}
    for name, strategy in [("litlab", []), ("plain", ["--trainer.strategy", "ddp"])]:
        logs = tmp_path / name
        litlab([base[0], *fast_synthetic_args(logs), *two_processes(*strategy), *base[1:]], cwd=tmp_path)
        results[name] = scalars(next((logs / "synthetic_mlp").iterdir()))
    for key in ("val/acc", "val/loss", "val/f1", "val/precision", "val/recall"):
        assert results["litlab"][key] == pytest.approx(one[key], abs=TOLERANCE), key
    assert results["plain"]["val/acc"] != pytest.approx(one["val/acc"], abs=TOLERANCE)  # the padded duplicate counts


def child_pids(pid: int) -> list[int]:
    children = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            if re.search(rf"^PPid:\s+{pid}$", status.read_text(), re.MULTILINE):
                children.append(int(status.parent.name))
        except OSError:  # the process ended while we looked
            continue
    return children


@pytest.mark.slow
def test_a_dying_process_stops_the_whole_job_with_a_clear_error(tmp_path: Path) -> None:
    """SIGKILL rank 1 mid-training: rank 0 must not wait in a collective forever."""
    args = ["fit", *fast_synthetic_args(tmp_path / "logs", epochs=1000), "--data.init_args.sizes", "[16384, 256, 256]",
            *two_processes()]  # fmt: skip
    launcher = subprocess.Popen([sys.executable, "-m", "litlab", *args], cwd=tmp_path, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
    run = tmp_path / "logs" / "synthetic_mlp" / "version_0"
    deadline = time.monotonic() + 300
    while not (run / "checkpoints").is_dir():  # the first epoch has ended: both processes are training
        assert launcher.poll() is None and time.monotonic() < deadline, launcher.stderr.read()[-3000:]
        time.sleep(0.05)
    [rank_1] = child_pids(launcher.pid)
    os.kill(rank_1, signal.SIGKILL)
    killed_at = time.monotonic()

    launcher.wait(timeout=120)
    stopped_after = time.monotonic() - killed_at
    stderr = launcher.stderr.read()
    assert launcher.returncode != 0
    assert "litlab: error: another process of this distributed job stopped" in stderr, stderr[-3000:]
    assert "Traceback" not in stderr
    assert stopped_after < 120
