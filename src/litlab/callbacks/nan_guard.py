"""Stop at the first NaN/inf loss, before it reaches the weights, and never write non-finite weights to disk.

Without it a diverged run trains on for hours on NaN and `last.ckpt` is overwritten with NaN weights,
destroying the last good state. The loss is checked before `backward` (so the optimizer never steps on
it; under DDP the processes agree first, so none is left waiting in a collective), and every checkpoint
is checked before it is written (weights can overflow to inf from a finite loss).
"""

import math

import lightning as L
import torch

from litlab.command.errors import TrainingDivergedError


class NaNGuard(L.Callback):
    """Raises `TrainingDivergedError` naming the step and the last finite loss.

    Checking costs one device-to-host sync per training step (plus one tiny all-reduce under DDP).
    """

    def __init__(self) -> None:
        self._last_finite: tuple[int, float] | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._last_finite = None

    def on_before_backward(self, trainer: L.Trainer, pl_module: L.LightningModule, loss: torch.Tensor) -> None:
        # One `item` (the sync) and a float check: tensor ops (isfinite, all, bool) cost far more on a CPU.
        # A non-finite part stays non-finite in the sum; summed in float32, finite float16 parts stay finite.
        value = loss.item() if loss.numel() == 1 else loss.detach().float().sum().item()
        bad = not math.isfinite(value)
        if trainer.world_size > 1:
            bad = trainer.strategy.reduce_boolean_decision(bad, all=False)
        if not bad:
            self._last_finite = (trainer.global_step, value)
            return
        what = "nan" if math.isnan(value) else "inf" if math.isinf(value) else "non-finite on another process"
        if self._last_finite is None:
            before = "no finite loss was seen in this run before it"
        else:
            step, last = self._last_finite
            before = f"the last finite loss was {last:.6g} at step {step}"
        raise TrainingDivergedError(
            f"the training loss became {what} at step {trainer.global_step} (epoch {trainer.current_epoch}); "
            f"{before}. Training stopped before that step changed the weights, and no checkpoint was written "
            "after it. Lower the learning rate or set trainer.gradient_clip_val, and start again."
        )

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
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
