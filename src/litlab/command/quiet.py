"""Start-up lines a litlab user can neither act on nor needs, switched off; the ones that matter stay.

Kept: which accelerator and devices are used, precision, seeds, what checkpoint is loaded, real warnings.
Dropped:
- Lightning's advertisement for its cloud logger ("💡 Tip: ... litlogger"), printed by every Trainer;
- "TPU available: False, using: 0 TPU cores" and its HPU twin, when there is no such device (a TPU or HPU that
  is present still says so);
- that the trainer "already" has a model summary: it is litlab's (`litlab.callbacks.ModelSummary`);
- torch's FutureWarning that Lightning's own `_pytree` helper uses `LeafSpec` (Lightning's code, not the user's);
- on `--ckpt_path last`, "Checkpoint directory ... exists and is not empty": continuing a run into its own
  folder is the point of resuming;
- on validate/test/predict, "Be aware that when using `ckpt_path`, callbacks used to create the checkpoint need
  to be provided": litlab leaves the checkpoint callbacks out of an evaluation on purpose (nothing is saved).
"""

import logging
import re
import warnings

NOISE = (
    re.compile(r"^💡 Tip: .*litlogger"),
    re.compile(r"^(TPU|HPU) available: False"),
    re.compile(r"^Trainer already configured with model summary callbacks"),  # litlab's own ModelSummary
)
RANK_ZERO_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero")


class DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(pattern.search(message) for pattern in NOISE)


def quiet_lightning() -> None:
    """Install the filters; safe to call more than once."""
    for name in RANK_ZERO_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, DropNoise) for f in logger.filters):
            logger.addFilter(DropNoise())
    warnings.filterwarnings(
        "ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated", category=FutureWarning
    )


def quiet_resume() -> None:
    """Resuming writes into the run's own, non-empty checkpoint folder on purpose."""
    warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty")


def quiet_evaluation() -> None:
    """An evaluation has no checkpoint callbacks to give the checkpoint's saved states back to."""
    warnings.filterwarnings("ignore", message=r"Be aware that when using `ckpt_path`, callbacks used to create")
