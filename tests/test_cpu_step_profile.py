"""benchmarks/cpu_step_profile.py: its operator groups account for every recorded operator, and its smoke mode."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from benchmarks.cpu_step_profile import grouped
from benchmarks.litlab_api import read_section
from torch.profiler import ProfilerActivity, profile

from conftest import REPO, write_image_folder


def test_groups_split_every_operators_self_time_among_them() -> None:
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 32, 3), torch.nn.BatchNorm2d(32), torch.nn.GELU(),
                              torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(32 * 15 * 15, 10))  # fmt: skip
    images, labels = torch.randn(64, 3, 32, 32), torch.randint(0, 10, (64,))
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(2):
            torch.nn.functional.cross_entropy(net(images), labels).backward()
    groups = grouped(profiler, steps=2)
    everything = sum(e.self_cpu_time_total for e in profiler.key_averages()) / 1000 / 2  # ms per step
    assert sum(groups.values()) == pytest.approx(everything, rel=1e-9)
    for name in ("convolution (forward and backward)", "batch norm", "activation (GELU)", "pooling", "loss"):
        assert groups[name] > 0, name


@pytest.mark.slow  # a training process on a few hundred images: about 30 s on 2 cores
def test_smoke_mode_profiles_real_steps_and_writes_its_section(tmp_path: Path) -> None:
    source = write_image_folder(tmp_path / "src", {"train": 40, "test": 12}, size=32, suffix=".jpg")
    results = tmp_path / "RESULTS.md"
    command = [sys.executable, str(REPO / "benchmarks" / "cpu_step_profile.py"), "--smoke", "--warmup", "1"]
    command += ["--steps", "2", "--source", str(source), "--work", str(tmp_path / "work"), "--out", str(results)]
    subprocess.run(command, check=True, cwd=tmp_path, timeout=300)
    section = read_section(results, "cpu-step-profile")
    assert "SMOKE RUN" in section and "2 steps recorded after 1" in section
    rows = {line.split(" | ")[0].strip("| "): line for line in section.splitlines() if line.startswith("| ")}
    assert "convolution (forward and backward)" in rows and rows["step (wall, mean)"].endswith("| 100% |")
