"""Classify image files with an exported litlab model and its sidecar JSON, without litlab or Lightning.

    python scripts/export.py --ckpt_path <run>/checkpoints/last.ckpt --format onnx
    python scripts/classify_images.py <run>/checkpoints/last.onnx photos/*.png

Needs numpy and Pillow, plus onnxruntime for an .onnx model or torch for a TorchScript .ts.pt one. Each image
is prepared as the sidecar's "preprocessing" says (colour mode, size, scale to [0, 1], per-channel mean/std),
and one line per file is printed: the file, the predicted class and its probability, tab-separated; the same
values `litlab predict` writes in predictions.csv. Resizing uses Pillow's bilinear filter, close to but not
bit-identical with torchvision's, so resized images may differ from `litlab predict` in the last digits.
"""

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image


def prepare(path: str, preprocessing: dict) -> np.ndarray:
    """(C, H, W) float32: decoded, sized, scaled to [0, 1] and normalized as in training."""
    with Image.open(path) as image:
        image = image.convert(preprocessing["color_mode"])
    height, width = preprocessing["image_size"]
    if image.size != (width, height):
        if not preprocessing["resize"]:
            sys.exit(f"{path} is {image.height}x{image.width}; the model takes {height}x{width} images")
        image = image.resize((width, height), Image.BILINEAR)
    pixels = np.asarray(image, dtype=np.float32).reshape(height, width, -1).transpose(2, 0, 1) / 255
    mean = np.asarray(preprocessing["mean"], dtype=np.float32).reshape(-1, 1, 1)
    std = np.asarray(preprocessing["std"], dtype=np.float32).reshape(-1, 1, 1)
    return (pixels - mean) / std


def load_model(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    """A function from a (B, C, H, W) float32 batch to (B, num_classes) logits."""
    if path.suffix == ".onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return lambda batch: session.run(None, {"input": batch})[0]
    import torch

    model = torch.jit.load(str(path), map_location="cpu")
    return lambda batch: model(torch.from_numpy(batch)).detach().numpy()


def softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, help="the exported model; its sidecar is <model>.json")
    parser.add_argument("images", nargs="+", help="image files")
    parser.add_argument("--batch_size", type=int, default=64)
    args = parser.parse_args()
    sidecar = json.loads(Path(f"{args.model}.json").read_text())
    preprocessing, names = sidecar["preprocessing"], sidecar["class_names"]
    if preprocessing["kind"] != "image":
        sys.exit(f"{args.model} was not trained on images")
    run = load_model(args.model)
    for start in range(0, len(args.images), args.batch_size):
        files = args.images[start : start + args.batch_size]
        probabilities = softmax(run(np.stack([prepare(f, preprocessing) for f in files])))
        for file, row in zip(files, probabilities, strict=True):
            print(f"{file}\t{names[int(row.argmax())]}\t{row.max():.6f}")


if __name__ == "__main__":
    main()
