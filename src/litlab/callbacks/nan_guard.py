"""Stop at the first NaN/inf loss, before it reaches the weights, and never write non-finite weights to disk.

Without it a diverged run trains on for hours on NaN and `last.ckpt` is overwritten with NaN weights,
destroying the last good state. On the CPU the loss is checked before `backward`,
so the optimizer never steps on it; on a GPU it is read one step late, so that the GPU never waits for the
check (see `NaNGuard`'s `check`). Every checkpoint is checked before it is written (the loss still unread,
and the weights, which can overflow to inf from a finite loss).
"""

import math
from typing import Literal

import lightning as L
import torch

from litlab.command.errors import TrainingDivergedError


class NaNGuard(L.Callback):
    """Raises `TrainingDivergedError` naming the step and the last finite loss.

    Args:
        check: "immediate" reads each loss before its `backward`, so the step that made it never changes the
            weights; that read waits for the device, one host sync per step, which leaves a GPU idle while the
            host queues the rest of the step. "one_step_late" reads each loss during the next step, when the
            device has long computed it: the GPU never waits, and the bad step's update may reach the weights
            before training stops (no checkpoint is written after it: every save checks the loss still
            pending and the weights). "auto": immediate on the CPU, one step late on an accelerator.
    Under DDP the processes agree on every check (one tiny all-reduce), so none is left waiting in a collective.
    """

    def __init__(self, check: Literal["auto", "immediate", "one_step_late"] = "auto") -> None:
        self.check = check
        self._last_finite: tuple[int, float] | None = None
        self._pending: tuple[int, torch.Tensor] | None = None  # (step, loss) not read yet

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._last_finite, self._pending = None, None

    def on_before_backward(self, trainer: L.Trainer, pl_module: L.LightningModule, loss: torch.Tensor) -> None:
        # A non-finite part stays non-finite in the sum; summed in float32, finite float16 parts stay finite.
        loss = loss.detach() if loss.numel() == 1 else loss.detach().float().sum()
        late = self.check == "one_step_late" or (self.check == "auto" and loss.device.type != "cpu")
        if not late:
            self._read(trainer, trainer.global_step, loss, late=False)
            return
        pending, self._pending = self._pending, (trainer.global_step, loss)
        if pending is not None:
            self._read(trainer, *pending, late=True)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._read_pending(trainer)

    def _read_pending(self, trainer: L.Trainer) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            self._read(trainer, *pending, late=True)

    def _read(self, trainer: L.Trainer, step: int, loss: torch.Tensor, late: bool) -> None:
        value = loss.item()  # one `item` and a float check: tensor ops (isfinite, all, bool) cost more on a CPU
        bad = not math.isfinite(value)
        if trainer.world_size > 1:
            bad = trainer.strategy.reduce_boolean_decision(bad, all=False)
        if not bad:
            self._last_finite = (step, value)
            return
        what = "nan" if math.isnan(value) else "inf" if math.isinf(value) else "non-finite on another process"
        if self._last_finite is None:
            before = "no finite loss was seen in this run before it"
        else:
            last_step, last = self._last_finite
            before = f"the last finite loss was {last:.6g} at step {last_step}"
        stopped = (
            "Training stopped one step later (on an accelerator the check reads each loss a step late, so the "
            "device never waits), and no checkpoint was written after it"
            if late
            else "Training stopped before that step changed the weights, and no checkpoint was written after it"
        )
        raise TrainingDivergedError(
            f"the training loss became {what} at step {step} (epoch {trainer.current_epoch}); {before}. "
            f"{stopped}. Lower the learning rate or set trainer.gradient_clip_val, and start again."
        )

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        self._read_pending(trainer)
        # Parameters and buffers only: metric states (a MaxMetric starts at -inf) may legitimately be infinite.
        weights = dict(pl_module.named_parameters()) | dict(pl_module.named_buffers())
        broken = [
            name
            for name, tensor in weights.items()
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())
        ]
        if broken:
            shown = ", ".join(broken[:3]) + (f" and {len(broken) - 3} more" if len(broken) > 3 else "")
            raise TrainingDivergedError(
                f"the weights are no longer finite at step {trainer.global_step} ({shown}); the checkpoint was not "
                "written, so the previous one is intact. Lower the learning rate or set trainer.gradient_clip_val."
            )
