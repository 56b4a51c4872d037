"""`litlab fit` ends with a test of its best checkpoint, in the same process and run folder, and one summary line.

Which checkpoint: the best by the first monitored ModelCheckpoint, else the newest `last.ckpt`, else the weights
in memory. Testing restores the tested checkpoint's callback states and clears the trainer's metrics; both are
put back afterwards, so the trainer still says what training ended with.
"""

from pathlib import Path

from lightning.pytorch import LightningDataModule, LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_info

SUMMARY_METRICS = ("val/acc_best", "val/loss", "test/acc", "test/f1", "test/auroc", "test/loss", "test/r2")


def checkpoint_to_test(trainer: Trainer) -> tuple[str | None, str]:
    """The checkpoint to test after fitting (None: the weights in memory), with a phrase saying which."""
    checkpoints = [c for c in trainer.checkpoint_callbacks if isinstance(c, ModelCheckpoint)]
    for callback in checkpoints:
        if callback.monitor and callback.best_model_path:
            score = callback.best_model_score
            value = f" = {float(score):.4f}" if score is not None else ""
            return callback.best_model_path, f"the best checkpoint by {callback.monitor}{value}"
    for callback in checkpoints:
        if callback.last_model_path or Path(callback.dirpath or "", "last.ckpt").is_file():
            return callback.last_model_path or str(Path(callback.dirpath, "last.ckpt")), "the last checkpoint"
    return None, "the weights at the end of training (no checkpoint was saved)"


def has_test_split(datamodule: LightningDataModule | None) -> bool:
    """Whether the data module can test: it says so (`has_test_split`), or it defines a test loader."""
    if datamodule is None:
        return False
    defines_loader = type(datamodule).test_dataloader is not LightningDataModule.test_dataloader
    return bool(getattr(datamodule, "has_test_split", defines_loader))


def test_after_fit(trainer: Trainer, model: LightningModule, datamodule: LightningDataModule | None) -> None:
    if not has_test_split(datamodule):
        rank_zero_info("No test split in this data; skipping the test after fit.")
        return
    ckpt_path, which = checkpoint_to_test(trainer)
    rank_zero_info(f"Testing {which}: {ckpt_path}" if ckpt_path else f"Testing {which}.")
    fit_metrics = dict(trainer.callback_metrics)
    checkpoint_states = [(callback, callback.state_dict()) for callback in trainer.checkpoint_callbacks]
    trainer.test(model, datamodule=datamodule, ckpt_path=ckpt_path)
    for callback, state in checkpoint_states:
        callback.load_state_dict(state)
    for name, value in fit_metrics.items():
        trainer.callback_metrics.setdefault(name, value)


test_after_fit.__test__ = False  # a function named test_*, not a pytest test


def summary_line(trainer: Trainer) -> str:
    """`Run saved in <folder>: val/acc_best 0.8312, test/acc 0.8401` — where the run is and what it reached."""
    metrics = trainer.callback_metrics
    shown = ", ".join(f"{name} {float(metrics[name]):.4f}" for name in SUMMARY_METRICS if name in metrics)
    folder = trainer.logger.log_dir if trainer.logger is not None else trainer.default_root_dir
    return f"Run saved in {folder}" + (f": {shown}" if shown else "")
