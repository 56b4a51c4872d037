"""Every shipped experiment config resumes bit-exactly on CPU after a SIGKILL at a random moment.

Each config runs as shipped (its model, optimizer, schedule, callbacks, loader, precision), shrunk only in
size: a few hundred synthetic samples or a fake CIFAR-10 / image folder of 100 images, narrow networks, batch
16, 3 epochs. A real `litlab fit` is killed at a random moment of its training, `--ckpt_path last` continues
it, and its final `last.ckpt` must equal the uninterrupted run's, tensor for tensor. The rolling mid-epoch
checkpoint is written every 2 steps, so that most kills resume in the middle of an epoch.
"""

import os
import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
import yaml

from conftest import CONFIGS, write_image_folder
from litlab.command.cli import resolved_config
from litlab.data.example_table import write_example_table

pytestmark = pytest.mark.slow
EXPERIMENTS = sorted(p.stem for p in CONFIGS.glob("*.yaml"))
EPOCHS, BATCH = 3, 16


def set_in(raw: dict, dotted: str, value: object) -> None:
    *parents, key = dotted.split(".")
    for part in parents:
        raw = raw[part]
    raw[key] = value


def small_config(name: str, folder: Path, data_dir: Path) -> Path:
    """configs/<name>.yaml, resolved with the shared defaults, shrunk in size, checkpointing every 2 steps."""
    raw = resolved_config(["fit", "--config", str(CONFIGS / f"{name}.yaml")])
    data, model = raw["data"]["init_args"], raw["model"]["init_args"]
    backbone = model["backbone"].get("init_args") if isinstance(model["backbone"], dict) else None
    if "sizes" in data:
        data["sizes"] = [512, 128, 128]
    if "data_dir" in data:  # CIFAR-10: the fake copy holds 100 training images, 20 of them for validation
        data.update(data_dir=str(data_dir), val_size=20)
    if "root" in data:
        data["root"] = str(write_image_folder(folder / "images", {"train": 40, "test": 4}, size=32, suffix=".jpg"))
    if "path" in data and str(data["path"]).endswith((".csv", ".parquet")):  # a table: generate a small one
        data["path"] = str(write_example_table(folder / "table.csv", rows=600))
    if "data_dir" in data or "root" in data:
        data["batch_size"] = BATCH
    if backbone and "width" in backbone:
        backbone["width"] = 8
    if backbone and "widths" in backbone:
        backbone["widths"] = [8, 16, 16]
    if (model.get("scheduler") or {}).get("init_args", {}).get("T_max"):
        model["scheduler"]["init_args"]["T_max"] = EPOCHS
    for callback in raw["trainer"]["callbacks"]:
        args = callback.setdefault("init_args", {})
        if args.get("every_n_train_steps"):
            args["every_n_train_steps"] = 2
        if "num_images" in args:
            args["num_images"] = 64
    trainer = raw["trainer"]
    trainer.update(max_epochs=EPOCHS, accelerator="cpu", devices=1, enable_progress_bar=False)
    if isinstance(trainer.get("limit_val_batches"), float):  # a fraction of 1 small batch would be none
        trainer["limit_val_batches"] = 1.0
    trainer["logger"]["init_args"]["save_dir"] = str(folder / "logs")
    raw["test_after_fit"] = False
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


# `litlab` with torchvision's md5 table pointed at the fake CIFAR-10 in argv[1] (as the fake_cifar10 fixture does
# in-process), so that the CIFAR-10 configs run on it unchanged.
LITLAB_ON_FAKE_CIFAR = textwrap.dedent(
    """
    import hashlib, sys
    from pathlib import Path
    from torchvision.datasets import CIFAR10
    folder = Path(sys.argv[1]) / CIFAR10.base_folder
    md5 = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    CIFAR10.train_list = [[f"data_batch_{i}", md5[f"data_batch_{i}"]] for i in range(1, 6)]
    CIFAR10.test_list = [["test_batch", md5["test_batch"]]]
    CIFAR10.meta = {**CIFAR10.meta, "md5": md5["batches.meta"]}
    from litlab.command.entry import main
    main(sys.argv[2:])
    """
)


def start(config: Path, fake_cifar: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # float sums depend on the thread count
    command = [sys.executable, "-c", LITLAB_ON_FAKE_CIFAR, str(fake_cifar), "fit", "--config", str(config), *extra]
    return subprocess.Popen(
        command, cwd=config.parent, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def finish(process: subprocess.Popen) -> None:
    _, stderr = process.communicate(timeout=900)
    assert process.returncode == 0, stderr[-3000:]


def training_started(run: Path, pid: int) -> bool:
    return any(run.glob(f"events.out.tfevents.*.{pid}.*"))


def last(logs: Path) -> dict:
    [run] = [p for p in logs.glob("*/version_0")]
    return torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_config_resumes_exactly_after_a_kill_at_a_random_moment(name: str, tmp_path: Path, fake_cifar10: Path) -> None:
    (tmp_path / "reference").mkdir()
    reference_config = small_config(name, tmp_path / "reference", fake_cifar10)
    process = start(reference_config, fake_cifar10)
    run = tmp_path / "reference" / "logs" / name / "version_0"
    while not training_started(run, process.pid) and process.poll() is None:
        time.sleep(0.01)
    began = time.perf_counter()
    finish(process)
    training_seconds = time.perf_counter() - began

    (tmp_path / "killed").mkdir()
    config = small_config(name, tmp_path / "killed", fake_cifar10)
    run = tmp_path / "killed" / "logs" / name / "version_0"
    process = start(config, fake_cifar10)
    while not training_started(run, process.pid):
        assert process.poll() is None, process.stderr.read()[-3000:]
        time.sleep(0.01)
    time.sleep(random.Random(name).uniform(0.1, 0.8) * training_seconds)
    assert process.poll() is None, "the run ended before its kill; it needs to be longer"
    process.kill()
    process.wait()
    finish(start(config, fake_cifar10, "--ckpt_path", "last"))

    reference, resumed = last(tmp_path / "reference" / "logs"), last(tmp_path / "killed" / "logs")
    assert (resumed["global_step"], resumed["epoch"]) == (reference["global_step"], reference["epoch"])
    for key, tensor in reference["state_dict"].items():
        assert torch.equal(resumed["state_dict"][key], tensor), key
    assert resumed["lr_schedulers"] == reference["lr_schedulers"]
