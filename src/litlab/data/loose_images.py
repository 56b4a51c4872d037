"""New images for `litlab predict`: files, or folders of them, prepared exactly as the checkpoint records.

    litlab predict --config <run>/config.yaml --ckpt_path <run>/checkpoints/last.ckpt --inputs photos/ a.png

The training data is not needed. Image size, channels, resizing, normalization statistics and class names come
from the checkpoint's `Preprocessing` record (`litlab.data.preprocessing`); nothing is measured on these images.
A folder is searched recursively for image files. When every subfolder of a folder is named after a class of
the model (`photos/cat/...`, `photos/dog/...`), its images carry those labels, so the predictions can be checked.

Every image is decoded before the first prediction, with the decoder the training data used, so a file that is
not an image, or has the wrong size for a model trained without resizing, stops the run with an error naming
it; with `skip_bad_inputs` such files are left out and listed instead (`skipped`).
"""

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from torchvision.datasets.folder import IMG_EXTENSIONS, has_file_allowed_extension
from torchvision.transforms.v2 import functional as TF

from litlab.command.errors import LitlabError
from litlab.data.base import LitlabDataModule
from litlab.data.image_base import ImageTensors
from litlab.data.image_cache import decode_one
from litlab.data.preprocessing import Preprocessing, for_new_inputs

UNLABELED = -1


def list_images(inputs: list[str], class_names: list[str] | None) -> list[tuple[str, int]]:
    """(path, label) for every input file and every image file under an input folder, in a stable order."""
    samples: list[tuple[str, int]] = []
    for given in inputs:
        path = Path(given)
        if path.is_file():
            samples.append((str(path), UNLABELED))
            continue
        if not path.is_dir():
            raise LitlabError(f"the input {path} does not exist. Give image files or folders of images.")
        subfolders = {entry.name for entry in os.scandir(path) if entry.is_dir()}
        labeled = bool(subfolders) and class_names is not None and subfolders <= set(class_names)
        found = sorted(p for p in path.rglob("*") if p.is_file() and has_file_allowed_extension(p.name, IMG_EXTENSIONS))
        for file in found:
            parts = file.relative_to(path).parts
            label = class_names.index(parts[0]) if labeled and len(parts) > 1 else UNLABELED
            samples.append((str(file), label))
        if not found:
            raise LitlabError(f"found no image files ({' '.join(IMG_EXTENSIONS)}) in {path}.")
    return samples


def read_image(path: str, preprocessing: Preprocessing) -> torch.Tensor:
    """(C, H, W) uint8 pixels at the model's size, or a `LitlabError` that names the file and what is wrong."""
    image = decode_one(path, preprocessing.grayscale)
    size = preprocessing.image_size
    if tuple(image.shape[-2:]) != size:
        if not preprocessing.resize:
            raise LitlabError(
                f"{path} is {image.shape[-2]}x{image.shape[-1]} pixels, but the model takes {size[0]}x{size[1]} and "
                "was trained without resizing (no image_size set). Resize the image to that size first."
            )
        image = TF.resize(image, list(size), antialias=True)
    return image


class LooseImagesDataModule(LitlabDataModule):
    """Images to predict, with the preprocessing of the checkpoint `checkpoint`.

    Args:
        inputs: image files and folders.
        checkpoint: the checkpoint whose model will predict; its preprocessing record is used.
        skip_bad_inputs: leave out files that cannot be read or have the wrong size (listed in `skipped`)
            instead of stopping with an error.
    """

    def __init__(
        self,
        inputs: list[str],
        checkpoint: str,
        skip_bad_inputs: bool = False,
        batch_size: int = 64,
        num_workers: int = 0,
        pin_memory: bool = False,
        persistent_workers: bool = False,
    ) -> None:
        super().__init__(
            batch_size=batch_size, num_workers=num_workers, pin_memory=pin_memory, persistent_workers=persistent_workers
        )
        record, task_sizes = for_new_inputs(checkpoint)
        if record.kind != "image":
            raise LitlabError(f"--inputs takes image files, but {checkpoint} was trained on {record.kind} data.")
        self.record = record
        for name, value in task_sizes.items():  # linked into the task, as a training data module's are
            setattr(self, name, value)
        self.input_shape = record.input_shape
        self.class_names = record.class_names
        self.mean, self.std = record.mean, record.std
        self.samples = list_images(list(inputs), record.class_names)
        self.skip_bad_inputs = skip_bad_inputs
        self.skipped: list[tuple[str, str]] = []
        self.predict_input_names: list[str] = []

    def preprocessing(self) -> Preprocessing:
        return self.record

    def _read(self, path: str) -> torch.Tensor | LitlabError:
        try:
            return read_image(path, self.record)
        except LitlabError as error:
            if not self.skip_bad_inputs:
                raise
            return error

    def setup(self, stage: str | None = None) -> None:
        if stage != "predict":
            raise LitlabError("images given with --inputs can only be predicted on; use a training data module.")
        paths = [path for path, _ in self.samples]
        with ThreadPoolExecutor(min(4, os.cpu_count() or 1)) as pool:
            images = list(pool.map(self._read, paths))
        kept = [i for i, image in enumerate(images) if isinstance(image, torch.Tensor)]
        self.skipped = [(paths[i], str(image)) for i, image in enumerate(images) if isinstance(image, LitlabError)]
        if not kept:
            raise LitlabError(f"none of the {len(paths)} inputs could be read; the first: {self.skipped[0][1]}")
        labels = torch.tensor([self.samples[i][1] for i in kept])
        self.predict_set = ImageTensors(torch.stack([images[i] for i in kept]), labels, self.mean, self.std)
        self.predict_input_names = [paths[i] for i in kept]

    def predict_dataloader(self) -> DataLoader:
        return self._loader(self.predict_set, shuffle=False)
