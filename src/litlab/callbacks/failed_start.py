"""Remove the run folder of a `fit` that failed before its first optimizer step.

Such a folder holds a config.yaml, an hparams.yaml and an empty events file: nothing to resume or compare,
yet TensorBoard and `make report` list it as a run with no metrics, and the next attempt becomes `version_N+1`.
Only a folder that this run created (absent, or holding only this process's events file, when fitting was
set up) is removed; a resumed run's
folder is never touched. The error itself is reported as usual.
"""

import os
import shutil
from pathlib import Path

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_info


def _written_here(path: Path) -> bool:
    """An events file this process opened (TensorBoard names them `events.out.tfevents.<time>.<host>.<pid>.<n>`)."""
    return path.name.startswith("events.out.tfevents.") and path.name.split(".")[-2] == str(os.getpid())


class RemoveFailedStart(L.Callback):
    """On an exception during `fit` at global step 0, removes the TensorBoard logger's run folder if this run
    created it."""

    def __init__(self) -> None:
        self._new_folder: Path | None = None

    @staticmethod
    def _run_folder(trainer: L.Trainer) -> Path | None:
        if not trainer.is_global_zero or not isinstance(trainer.logger, TensorBoardLogger):
            return None
        return Path(trainer.logger.log_dir)  # the logger's own: trainer.log_dir is collective

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        folder = self._run_folder(trainer) if stage == "fit" and trainer.ckpt_path is None else None
        is_new = folder is not None and (not folder.exists() or all(map(_written_here, folder.iterdir())))
        self._new_folder = folder if is_new else None

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        folder, self._new_folder = self._new_folder, None
        if folder is None or trainer.state.fn != TrainerFn.FITTING or trainer.global_step > 0:
            return
        if folder.is_dir() and not any(folder.rglob("*.ckpt")):
            logger = trainer.logger
            assert isinstance(logger, TensorBoardLogger)
            logger.finalize("failed")
            logger._experiment = None  # else Lightning's own finalize, after this hook, reopens the events file
            shutil.rmtree(folder, ignore_errors=True)
            rank_zero_info(f"Removed {folder}: the run failed before its first training step.")
