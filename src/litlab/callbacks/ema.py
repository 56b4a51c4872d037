"""An exponential moving average of the weights, as a callback a preset can add (`configs/presets/ema.yaml`).

Lightning's `WeightAveraging` does the work (the averaged copy, swapping it in for validation, checkpoints
and after training); torch's `get_ema_multi_avg_fn` is the average. This class only makes the decay a
number YAML can give: the averaging function itself cannot be written in a config.
"""

from lightning.pytorch.callbacks import WeightAveraging
from torch.optim.swa_utils import get_ema_multi_avg_fn

from litlab.command.errors import ConfigError


class EMAWeights(WeightAveraging):
    """Keeps average = decay * average + (1 - decay) * weights after every optimizer step from `start_step` on.

    Args:
        decay: weight of the old average at each update, in (0, 1).
        start_step: optimizer steps before the average starts following the weights.
        use_buffers: average buffers (e.g. BatchNorm statistics) too, instead of recomputing them.
    """

    def __init__(self, decay: float = 0.999, start_step: int = 0, use_buffers: bool = True) -> None:
        if not 0 < decay < 1:
            raise ConfigError(f"EMAWeights decay must be between 0 and 1 (e.g. 0.999), got {decay}.")
        super().__init__(use_buffers=use_buffers, multi_avg_fn=get_ema_multi_avg_fn(decay))
        self.decay = decay
        self.start_step = start_step

    def should_update(self, step_idx: int | None = None, epoch_idx: int | None = None) -> bool:
        return step_idx is not None and step_idx >= self.start_step
