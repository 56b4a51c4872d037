"""Runs started together: each `litlab fit` gets its own run folder, and builders of one image cache leave one
valid cache. Real processes, started at the same moment, on real files under tmp_path."""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from conftest import REPO, fast_synthetic_args
from litlab.command.cli import build_cli
from litlab.data import image_cache

# A process that builds the cache of `root` with deterministic tensors of ~8 MB (a write takes a while), after
# waiting for a start file, so that every process reaches the build at the same moment.
BUILDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import torch
    from litlab.data import image_cache
    root, start = Path(sys.argv[1]), Path(sys.argv[2])
    while not start.exists():
        time.sleep(0.001)
    build = lambda: {"images": torch.arange(2_000_000, dtype=torch.int32).reshape(1000, 2000), "labels": torch.ones(9)}
    tensors = image_cache.load_or_build(root, "train", "samekey", build)
    print(int(tensors["images"].sum()), float(tensors["labels"].sum()))
    """
)


def expected() -> dict[str, torch.Tensor]:
    return {"images": torch.arange(2_000_000, dtype=torch.int32).reshape(1000, 2000), "labels": torch.ones(9)}


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}


@pytest.mark.slow  # processes decoding one folder at once; CI runs it (.ci/run)
def test_processes_building_one_image_cache_at_once_leave_one_valid_cache(tmp_path: Path) -> None:
    start = tmp_path / "go"
    builders = [
        subprocess.Popen([sys.executable, "-c", BUILDER, str(tmp_path), str(start)], env=env(), stdout=subprocess.PIPE)
        for _ in range(3)
    ]
    start.touch()
    outputs = [builder.communicate(timeout=300)[0].decode().split() for builder in builders]
    assert all(builder.returncode == 0 for builder in builders)
    truth = expected()
    assert outputs == [[str(int(truth["images"].sum())), str(float(truth["labels"].sum()))]] * 3
    files = [p.name for p in (tmp_path / image_cache.CACHE_DIR).iterdir()]
    assert files == ["train-samekey.pt"], "one cache, no temp file left"
    cached = torch.load(tmp_path / image_cache.CACHE_DIR / files[0], weights_only=True)
    assert all(torch.equal(cached[k], truth[k]) for k in truth)


@pytest.mark.parametrize("keep", [0.5, 0.99, 0.02], ids=["half", "all-but-the-end", "header-only"])
def test_a_half_written_cache_is_never_read_as_valid(tmp_path: Path, keep: float) -> None:
    truth = expected()
    image_cache.load_or_build(tmp_path, "train", "samekey", expected)
    path = image_cache.cache_path(tmp_path, "train", "samekey")
    whole = path.read_bytes()
    path.write_bytes(whole[: int(len(whole) * keep)])  # what a writer without the rename would leave
    path.with_name(f".{path.name}.999999.tmp").write_bytes(whole[:100])  # a killed writer's temp file
    built = []
    with pytest.warns(UserWarning, match="unreadable cache"):
        got = image_cache.load_or_build(tmp_path, "train", "samekey", lambda: built.append(1) or expected())
    assert built == [1], "the partial file was taken for a cache"
    assert all(torch.equal(got[k], truth[k]) for k in truth)
    assert path.read_bytes() == whole


def test_runs_that_choose_their_folder_before_either_writes_get_two_folders(tmp_path: Path) -> None:
    """Lightning's TensorBoardLogger chooses `version_N` by listing the folders and creates it when it first
    writes, so two runs that both choose before either writes (two processes started together) take the same N."""
    args = [
        "--config",
        str(REPO / "configs" / "synthetic_mlp.yaml"),
        "--trainer.logger.init_args.save_dir",
        str(tmp_path),
    ]
    first, second = (build_cli(args, run=False).trainer.logger for _ in range(2))
    assert (first.version, second.version) == (0, 1)
    assert sorted(p.name for p in (tmp_path / "synthetic_mlp").iterdir()) == ["version_0", "version_1"]


# `litlab fit` after its imports, once the start file exists: the processes reach the CLI at the same moment.
RELEASED_FIT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from litlab.command.entry import main
    while not Path(sys.argv[1]).exists():
        time.sleep(0.001)
    main(sys.argv[2:])
    """
)


@pytest.mark.slow
def test_fits_started_together_each_get_their_own_run_folder(tmp_path: Path) -> None:
    """Three `litlab fit` of one config started at the same moment: three version folders, each holding one
    process's TensorBoard file, config and checkpoints. Lightning alone lists the folders and takes the next
    number, so runs that start together pick the same one."""
    start = tmp_path / "go"
    fit = ["fit", *fast_synthetic_args(tmp_path, epochs=1), "--test_after_fit", "false"]
    command = [sys.executable, "-c", RELEASED_FIT, str(start), *fit]
    runs = [subprocess.Popen(command, cwd=tmp_path, env=env(), stderr=subprocess.PIPE, text=True) for _ in range(3)]
    time.sleep(5)  # their imports; one still importing then only joins a little later
    start.touch()
    for run in runs:
        assert run.wait(timeout=600) == 0, run.stderr.read()[-2000:]
    folders = sorted(p for p in (tmp_path / "synthetic_mlp").iterdir())
    assert [f.name for f in folders] == ["version_0", "version_1", "version_2"]
    writers = set()
    for folder in folders:
        [events] = folder.glob("events.out.tfevents.*")  # one process wrote here
        writers.add(events.name.split(".")[-2])  # the writer's pid
        assert (folder / "config.yaml").is_file()
        last = torch.load(folder / "checkpoints" / "last.ckpt", weights_only=True)
        assert last["epoch"] == 0
    assert writers == {str(run.pid) for run in runs}
