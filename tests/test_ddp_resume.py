"""DDP resume: a 2-process CPU fit (gloo) killed with SIGKILL — the launcher (rank 0) or the other rank — at a
random moment, then continued with `--ckpt_path last` as a user would. Real `litlab` processes throughout.

Exact: weights, optimizer state and step/epoch counters end bit-identical to the uninterrupted 2-process run.
Not exact: the same checkpoint continued with another number of processes (each process's share of every
batch, and so the gradients' rounding, change); docs/resume.md says so, and the last test shows it.
"""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from conftest import CONFIGS, fast_synthetic_args
from litlab.command.cli import resolved_config

pytestmark = pytest.mark.slow
EPOCHS, STEPS = 3, 8  # 2048 samples, batch 128 per process: 8 steps an epoch on each of the 2 processes
DDP = ["--config", str(CONFIGS / "trainer" / "ddp.yaml"), "--trainer.accelerator", "cpu", "--trainer.devices", "2"]


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """configs/synthetic_mlp.yaml with its rolling step checkpoint every 3 steps of 8-step epochs (mid-epoch)."""
    raw = resolved_config(["fit", "--config", str(CONFIGS / "synthetic_mlp.yaml")])
    [rolling] = [c for c in raw["trainer"]["callbacks"] if c.get("init_args", {}).get("every_n_train_steps")]
    rolling["init_args"]["every_n_train_steps"] = 3
    path = tmp_path_factory.mktemp("config") / "synthetic_mlp.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def command(config: Path, logs: Path, *extra: str) -> list[str]:
    args = [*fast_synthetic_args(logs, epochs=EPOCHS), "--data.init_args.sizes", "[2048, 256, 256]", *DDP]
    args[args.index("--config") + 1] = str(config)
    return [sys.executable, "-m", "litlab", "fit", *args, "--test_after_fit", "false", *extra]


def env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1"}  # float sums depend on the thread count


def run_to_the_end(config: Path, logs: Path, *extra: str) -> float:
    """Run the fit to its end; return how long it trained (from rank 0's first TensorBoard file on)."""
    process = subprocess.Popen(
        command(config, logs, *extra), cwd=logs.parent, env=env(), stderr=subprocess.PIPE, text=True
    )
    while not started(logs, process.pid) and process.poll() is None:
        time.sleep(0.01)
    began = time.perf_counter()
    _, stderr = process.communicate()
    assert process.returncode == 0, stderr[-3000:]
    return time.perf_counter() - began


def started(logs: Path, pid: int) -> bool:
    return any(logs.glob(f"synthetic_mlp/version_0/events.out.tfevents.*.{pid}.*"))


def last(logs: Path) -> dict:
    [run] = (logs / "synthetic_mlp").iterdir()
    return torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)


def litlab_children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children")
    pids = [int(p) for p in found.read_text().split()] if found.exists() else []
    return [p for p in pids if b"litlab" in Path(f"/proc/{p}/cmdline").read_bytes()]


@pytest.fixture(scope="module")
def reference(config: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, float]:
    logs = tmp_path_factory.mktemp("reference") / "logs"
    seconds = run_to_the_end(config, logs)
    return last(logs), seconds


def assert_same(resumed: dict, reference: dict) -> None:
    assert resumed["global_step"] == reference["global_step"] == EPOCHS * STEPS
    assert resumed["epoch"] == reference["epoch"] == EPOCHS - 1
    for key, tensor in reference["state_dict"].items():
        assert torch.equal(resumed["state_dict"][key], tensor), key
    for got, want in zip(
        resumed["optimizer_states"][0]["state"].values(),
        reference["optimizer_states"][0]["state"].values(),
        strict=True,
    ):
        assert all(torch.equal(got[k], want[k]) for k in want)


def kill_at_random(config: Path, logs: Path, victim: str, seconds: float, seed: int) -> None:
    """Start the 2-process fit, wait until rank 0 has started training, SIGKILL `victim` after a random part of
    the run's length; the survivor must end by itself (it sees its peer gone), never hang."""
    launcher = subprocess.Popen(command(config, logs), cwd=logs.parent, env=env(), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not started(logs, launcher.pid):
        assert launcher.poll() is None and time.monotonic() < deadline, "the run ended before training started"
        time.sleep(0.01)
    time.sleep(random.Random(seed).uniform(0.05, 0.6) * seconds)
    [rank1] = litlab_children(launcher.pid) or [None]
    assert launcher.poll() is None and rank1 is not None, "the run finished before the kill; it needs to be longer"
    os.kill(launcher.pid if victim == "launcher" else rank1, signal.SIGKILL)
    survivor = rank1 if victim == "launcher" else launcher.pid
    try:
        if victim == "launcher":
            launcher.wait()
            while Path(f"/proc/{survivor}").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not Path(f"/proc/{survivor}").exists(), "rank 1 outlived its launcher"
        else:
            assert launcher.wait(timeout=120) != 0
            assert "another process of this distributed job stopped" in launcher.stderr.read()
    finally:
        if Path(f"/proc/{survivor}").exists():
            os.kill(survivor, signal.SIGKILL)


@pytest.mark.parametrize("victim", ["launcher", "rank1"])
def test_killed_ddp_fit_resumes_exactly(
    config: Path, reference: tuple[dict, float], tmp_path: Path, victim: str
) -> None:
    logs = tmp_path / "logs"
    kill_at_random(config, logs, victim, reference[1], seed=len(victim))
    run_to_the_end(config, logs, "--ckpt_path", "last")
    assert [p.name for p in (logs / "synthetic_mlp").iterdir()] == ["version_0"]
    assert_same(last(logs), reference[0])


def test_a_ddp_checkpoint_continued_on_one_process_is_not_exact(
    config: Path, reference: tuple[dict, float], tmp_path: Path
) -> None:
    """Half way, then on with one process: it trains on (all the data: twice the steps an epoch),
    and the weights differ from the 2-process run's."""
    logs = tmp_path / "logs"
    run_to_the_end(config, logs, "--trainer.max_epochs", "1")
    run_to_the_end(config, logs, "--ckpt_path", "last", "--trainer.devices", "1")
    resumed = last(logs)
    assert resumed["epoch"] == EPOCHS - 1 and resumed["global_step"] == STEPS + (EPOCHS - 1) * 2 * STEPS
    assert any(not torch.equal(resumed["state_dict"][k], t) for k, t in reference[0]["state_dict"].items())
