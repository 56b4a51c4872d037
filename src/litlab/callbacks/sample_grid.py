"""A grid of the first training batch exactly as the model receives it, to catch a broken input pipeline early.

Wrong labels, a missing or doubled `Normalize`, channels in the wrong order or augmentation gone wild
are visible at a glance here and nowhere else. Pictures are un-normalised with the data module's
`mean`/`std` when it has them (otherwise each image is min-max scaled), and titled with their label.
"""

from typing import Any

import lightning as L

from litlab.callbacks.figure_output import log_figure
from litlab.callbacks.figures import display_images, image_grid_figure, is_image_batch
from litlab.callbacks.lookup import class_names, normalisation, tensorboard_writer


class TrainSampleGrid(L.Callback):
    """Logs `train/samples` once, from the first training batch after it is moved to the device.

    Args:
        num_images: how many images of that batch to show.
    """

    def __init__(self, num_images: int = 32) -> None:
        self.num_images = num_images
        self._done = False

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self._done:
            return
        self._done = True
        writer = tensorboard_writer(trainer)
        images, labels = (batch[0], batch[1]) if isinstance(batch, list | tuple) and len(batch) == 2 else (None, None)
        if writer is None or not is_image_batch(images):
            return
        images, labels = images[: self.num_images], labels[: self.num_images].tolist()
        names = class_names(trainer, getattr(trainer.datamodule, "num_classes", 0))
        titles = [names[label] if isinstance(label, int) and label < len(names) else str(label) for label in labels]
        mean, std = normalisation(trainer)
        figure = image_grid_figure(display_images(images, mean, std), titles)
        log_figure(writer, "train/samples", figure, trainer.global_step)
