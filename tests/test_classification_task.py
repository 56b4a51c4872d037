"""ClassificationTask's training accuracy: gathered over several steps per update, still exact over the epoch."""

import functools
from pathlib import Path

import lightning as L
import pytest
import torch

from litlab.data import SyntheticClassificationData
from litlab.models import MLP
from litlab.tasks import ClassificationTask
from litlab.tasks.classification import TRAIN_ACC_BATCHES_PER_UPDATE


def test_train_acc_covers_every_training_batch_across_deferred_updates(tmp_path: Path) -> None:
    """With lr 0 the weights never change, so train/acc must equal the frozen model's accuracy on the train split.

    150 batches of 4: the labels go to the metric at batches 64 and 128 and the remaining 22 at the epoch's end.
    """
    batches = 2 * TRAIN_ACC_BATCHES_PER_UPDATE + 22
    data = SyntheticClassificationData(num_classes=5, input_shape=(8,), sizes=(4 * batches, 8, 8), batch_size=4)
    task = ClassificationTask(
        backbone=functools.partial(MLP, hidden_sizes=[16], dropout=0.0),
        num_classes=5,
        input_shape=(8,),
        optimizer=functools.partial(torch.optim.SGD, lr=0.0),
    )
    trainer = L.Trainer(
        max_epochs=1, limit_val_batches=0, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, default_root_dir=tmp_path,
    )  # fmt: skip
    trainer.fit(task, datamodule=data)

    task.eval()
    with torch.no_grad():
        pairs = [(task(x).argmax(dim=-1), y) for x, y in data.train_dataloader()]
    correct = sum(int((predicted == y).sum()) for predicted, y in pairs)
    total = sum(len(y) for _, y in pairs)
    assert total == 4 * batches
    assert 0.05 < correct / total < 0.95  # an accuracy that could be confused with neither 0 nor 1
    assert trainer.callback_metrics["train/acc"].item() == pytest.approx(correct / total, rel=1e-6)
    assert task._train_labels == []  # nothing left over for the next epoch
