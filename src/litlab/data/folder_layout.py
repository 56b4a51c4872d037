"""The ImageFolder layout, checked up front: `root/train/<class>/<image>`, optional `val/` and `test/` alike.

Problems are reported as `LitlabError`s that say what was expected, before any decoding or training starts.
File order and class indices are torchvision's (`make_dataset`), so `torchvision.datasets.ImageFolder` over the
same folder lists the very same samples.
"""

import os
from pathlib import Path

from torchvision.datasets.folder import IMG_EXTENSIONS, make_dataset

from litlab.command.errors import LitlabError

SPLITS = ("train", "val", "test")


def scan(root: Path) -> tuple[list[str], dict[str, list[tuple[str, int]]]]:
    """Class names and, per split folder present, its (path, label) samples in ImageFolder's order."""
    layout = f"Expected images in {root}/train/<class>/ (and optionally val/<class>/, test/<class>/ alike)."
    if not (root / "train").is_dir():
        reason = "does not exist" if not root.exists() else "has no train/ folder"
        jpg = " For the CIFAR-10 JPEG copy run `make data-jpg` first." if root.name == "cifar10-jpg" else ""
        raise LitlabError(f"the image folder {root} {reason}. {layout} Set data.root to such a folder.{jpg}")
    classes = sorted(entry.name for entry in os.scandir(root / "train") if entry.is_dir())
    if not classes:
        raise LitlabError(f"{root}/train has no class folders. {layout}")
    if len(classes) == 1:
        raise LitlabError(
            f"{root}/train has one class folder ({classes[0]}); classification needs at least two. {layout} "
            "A folder of unlabelled images is for `litlab predict`, not for training."
        )
    samples = {}
    for split in SPLITS:
        folder = root / split
        if not folder.is_dir():
            continue
        found = sorted(entry.name for entry in os.scandir(folder) if entry.is_dir())
        if found != classes:
            raise LitlabError(f"{folder} has the class folders {found}, train/ has {classes}; make them match.")
        samples[split] = make_dataset(folder, {c: i for i, c in enumerate(classes)}, IMG_EXTENSIONS, allow_empty=True)
        if not samples[split]:
            raise LitlabError(f"found no images ({' '.join(IMG_EXTENSIONS)}) in {folder}/<class>/. {layout}")
    return classes, samples
