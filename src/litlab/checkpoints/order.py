"""Write `last.ckpt` after every other checkpoint of an epoch's end, so that it records their final state.

Lightning calls `ModelCheckpoint` callbacks in the order they are listed. The shared defaults list the
unmonitored `last.ckpt` checkpoint first and experiments append the checkpoint of their best epoch, so
`last.ckpt` used to be written before the best-epoch checkpoint had taken in that epoch: a run resumed
from it believed an older file was the best one (and later deleted or tested a file that was gone).
"""

from collections.abc import MutableSequence

from lightning.pytorch import Callback
from lightning.pytorch.callbacks import ModelCheckpoint


def monitored_first(callbacks: MutableSequence[Callback]) -> None:
    """Reorder `callbacks` in place: monitored ModelCheckpoints before unmonitored ones, all else as it was.

    Lightning keeps checkpoint callbacks last and in their given order (it reorders again at fit start)."""
    slots = [i for i, c in enumerate(callbacks) if isinstance(c, ModelCheckpoint)]
    ordered = sorted((callbacks[i] for i in slots), key=lambda c: c.monitor is None)  # stable: ties keep order
    for slot, callback in zip(slots, ordered, strict=True):
        callbacks[slot] = callback
