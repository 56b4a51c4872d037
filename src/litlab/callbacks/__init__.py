"""Lightning callbacks, each switchable in YAML under `trainer.callbacks`."""

from litlab.callbacks.confusion_matrix import PrintConfusionMatrix

__all__ = ["PrintConfusionMatrix"]
