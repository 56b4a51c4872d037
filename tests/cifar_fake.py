"""A tiny CIFAR-10 in the official `cifar-10-batches-py` pickle format, for tests.

torchvision checks each file's md5 against the official sums; the fixture points those sums at the fake
files (monkeypatching torchvision's class attributes), so the product code runs unchanged.
"""

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
from torchvision.datasets import CIFAR10

PER_BATCH, TEST_SIZE = 20, 20
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _write(path: Path, payload: dict) -> str:
    path.write_bytes(pickle.dumps(payload))
    return hashlib.md5(path.read_bytes()).hexdigest()


def make_fake_cifar10(root: Path, seed: int = 0) -> dict[str, str]:
    """Write random images with cyclic labels; return {file name: md5}."""
    rng = np.random.default_rng(seed)
    folder = root / CIFAR10.base_folder
    folder.mkdir(parents=True)
    sums = {}
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        n = TEST_SIZE if name == "test_batch" else PER_BATCH
        images = rng.integers(0, 256, size=(n, 3 * 32 * 32), dtype=np.uint8)
        sums[name] = _write(folder / name, {"data": images, "labels": [i % 10 for i in range(n)]})
    sums["batches.meta"] = _write(folder / "batches.meta", {"label_names": CLASSES})
    return sums


@pytest.fixture
def fake_cifar10(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data_dir holding the fake dataset, with torchvision's md5 table pointed at it."""
    root = tmp_path / "data"
    sums = make_fake_cifar10(root)
    monkeypatch.setattr(CIFAR10, "train_list", [[f"data_batch_{i}", sums[f"data_batch_{i}"]] for i in range(1, 6)])
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", sums["test_batch"]]])
    monkeypatch.setattr(CIFAR10, "meta", {**CIFAR10.meta, "md5": sums["batches.meta"]})
    return root
