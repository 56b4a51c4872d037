"""CIFAR10DataModule on a tiny fake dataset in the official format: splits, tensors, normalization, augmentation."""

import re
from pathlib import Path

import pytest
import torch
from torchvision.datasets import CIFAR10

from conftest import CONFIGS, PER_BATCH, TEST_SIZE
from litlab.command.cli import build_cli
from litlab.command.errors import DatasetNotFoundError
from litlab.data import CIFAR10DataModule
from litlab.data.cifar10 import CIFAR10_MEAN, CIFAR10_STD

VAL = 10


def module(root: Path, loader: str = "torchvision", **kwargs) -> CIFAR10DataModule:
    dm = CIFAR10DataModule(data_dir=root, val_size=VAL, batch_size=8, num_workers=0, loader=loader, **kwargs)
    dm.prepare_data()
    dm.setup("fit")
    dm.setup("test")
    return dm


def test_split_sizes_and_seeded_disjoint_split(fake_cifar10: Path) -> None:
    dm = module(fake_cifar10)
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (5 * PER_BATCH - VAL, VAL, TEST_SIZE)
    assert not set(dm.train_set.indices) & set(dm.val_set.indices)
    assert dm.val_set.indices == module(fake_cifar10).val_set.indices
    assert dm.val_set.indices != module(fake_cifar10, seed=7).val_set.indices


def test_batches_have_expected_shapes_and_dtypes(fake_cifar10: Path) -> None:
    dm = module(fake_cifar10)
    for loader in (dm.train_dataloader(), dm.val_dataloader(), dm.test_dataloader()):
        x, y = next(iter(loader))
        assert x.shape == (8, 3, 32, 32) and x.dtype == torch.float32
        assert y.shape == (8,) and y.dtype == torch.int64


def test_normalization_uses_cifar_statistics(fake_cifar10: Path) -> None:
    dm = module(fake_cifar10)
    raw = CIFAR10(fake_cifar10, train=False).data[0]  # (32, 32, 3) uint8
    x, _ = dm.test_set[0]
    expected = (
        torch.from_numpy(raw).permute(2, 0, 1) / 255 - torch.tensor(CIFAR10_MEAN)[:, None, None]
    ) / torch.tensor(CIFAR10_STD)[:, None, None]
    torch.testing.assert_close(x, expected)


def test_augmentation_on_train_only(fake_cifar10: Path) -> None:
    dm = module(fake_cifar10)
    train_views = {dm.train_set[0][0].sum().item() for _ in range(12)}
    assert len(train_views) > 1, "random crop/flip should change a training image between draws"
    for split in (dm.val_set, dm.test_set):
        assert torch.equal(split[0][0], split[0][0])
    unaugmented = module(fake_cifar10, augment=False)
    assert torch.equal(unaugmented.train_set[0][0], unaugmented.train_set[0][0])


def test_labels_survive_the_split(fake_cifar10: Path) -> None:
    dm = module(fake_cifar10)
    targets = CIFAR10(fake_cifar10, train=True).targets
    assert [dm.val_set[i][1] for i in range(VAL)] == [targets[j] for j in dm.val_set.indices]


def test_offline_without_data_names_folder_files_and_ways_forward(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(CIFAR10, "url", "http://127.0.0.1:9/cifar-10-python.tar.gz")  # refused at once
    with pytest.raises(DatasetNotFoundError) as error:
        CIFAR10DataModule(data_dir=tmp_path / "empty").prepare_data()
    message = str(error.value)
    assert str((tmp_path / "empty").resolve()) in message
    assert "data_batch_1" in message and "test_batch" in message
    assert "cifar-10-python.tar.gz" in message and "make demo" in message
    assert "make data-jpg" in message and "configs/data/cifar10_jpg.yaml" in message
    for config in re.findall(r"configs/\S+\.yaml", message):
        assert (CONFIGS.parent / config).is_file(), config


def test_simple_cnn_config_trains_on_the_fake_data(fake_cifar10: Path, in_tmp: Path) -> None:
    cli = build_cli(
        ["fit", "--config", str(CONFIGS / "cifar10_simple_cnn.yaml"), "--data.init_args.data_dir", str(fake_cifar10),
         "--data.init_args.val_size", str(VAL), "--data.init_args.num_workers", "0", "--trainer.max_epochs", "1",
         "--trainer.enable_progress_bar", "false"]
    )  # fmt: skip
    assert cli.trainer.global_step == (5 * PER_BATCH - VAL + 63) // 64
    assert {"test/acc", "test/acc_top5", "test/f1", "test/auroc"} <= set(cli.trainer.callback_metrics)  # fit tested


def test_memory_path_serves_the_same_split_and_pixels_as_torchvision(fake_cifar10: Path) -> None:
    """Without augmentation both loaders must agree exactly: same val/test samples, labels and normalization."""
    classic, memory = module(fake_cifar10), module(fake_cifar10, loader="memory")
    for split in ("val_set", "test_set"):
        a, b = getattr(classic, split), getattr(memory, split)
        assert len(a) == len(b)
        for i in range(len(a)):
            torch.testing.assert_close(a[i][0], b[i][0])
            assert a[i][1] == b[i][1]
    memory.trainer = None
    x, y = next(iter(memory.val_dataloader()))
    assert x.dtype == torch.float32 and x.shape[1:] == (3, 32, 32) and y.dtype == torch.int64
