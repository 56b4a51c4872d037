"""Remove the run folder of a `fit` that failed before its first optimizer step.

Such a folder holds a config.yaml, an hparams.yaml and an empty events file: nothing to resume or compare,
yet TensorBoard and `make report` list it as a run with no metrics, and the next attempt becomes `version_N+1`.
Only a folder that this run created (empty or absent when fitting was set up) is removed; a resumed run's
folder is never touched. The error itself is reported as usual.
"""

import shutil
from pathlib import Path

import lightning as L
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_info


class RemoveFailedStart(L.Callback):
    """On an exception during `fit` at global step 0, removes the logger's run folder if this run created it."""

    def __init__(self) -> None:
        self._new_folder: Path | None = None

    @staticmethod
    def _run_folder(trainer: L.Trainer) -> Path | None:
        log_dir = getattr(trainer.logger, "log_dir", None)  # the logger's own: trainer.log_dir is collective
        return Path(log_dir) if trainer.is_global_zero and log_dir else None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        folder = self._run_folder(trainer) if stage == "fit" and trainer.ckpt_path is None else None
        is_new = folder is not None and (not folder.exists() or not any(folder.iterdir()))
        self._new_folder = folder if is_new else None

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        folder, self._new_folder = self._new_folder, None
        if folder is None or trainer.state.fn != TrainerFn.FITTING or trainer.global_step > 0:
            return
        if folder.is_dir() and not any(folder.rglob("*.ckpt")):
            shutil.rmtree(folder, ignore_errors=True)
            rank_zero_info(f"Removed {folder}: the run failed before its first training step.")
