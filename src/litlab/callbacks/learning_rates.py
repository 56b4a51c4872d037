"""Lightning's LearningRateMonitor under tags that do not depend on the optimizer's class.

Lightning tags the learning rate `lr-<OptimizerClass>` (`lr-SGD`, `lr-AdamW`, `lr-SGD/pg2`), so the curves of
two runs that differ in their optimizer land under different tags and cannot be overlaid in TensorBoard. Here
they are `train/lr` (one parameter group) or `train/lr/pg1`, `train/lr/pg2`, ... (several; a group's own
`name` when it has one), and `train/momentum`, `train/weight_decay` alike when those are logged. A scheduler
given its own `name` in `configure_optimizers` keeps it.
"""

import re
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import LearningRateMonitor

# lr-<Class>[-<n> for a second optimizer of the class][/<group>][-momentum|-weight_decay]
LIGHTNING_TAG = re.compile(r"lr-[A-Za-z_]\w*(?P<nth>-\d+)?(?P<group>/[^-]+)?(?:-(?P<stat>momentum|weight_decay))?")


def tag(lightning_tag: str) -> str:
    """`lr-SGD` -> `train/lr`; `lr-SGD/pg2` -> `train/lr/pg2`; `lr-Adam-momentum` -> `train/momentum`."""
    match = LIGHTNING_TAG.fullmatch(lightning_tag)
    if match is None:
        return lightning_tag
    return f"train/{match['stat'] or 'lr'}{match['nth'] or ''}{match['group'] or ''}"


class LearningRates(LearningRateMonitor):
    """LearningRateMonitor logging `train/lr` (per parameter group) whatever the optimizer class."""

    def _extract_stats(self, trainer: L.Trainer, interval: str) -> dict[str, Any]:
        # The one place LearningRateMonitor turns the learning rates into logged tags (Lightning 2.x).
        return {tag(name): value for name, value in super()._extract_stats(trainer, interval).items()}
