"""Image defaults on a non-CIFAR size: the same model on generated 8x8 grayscale digits (benchmarks/glyph_digits.py)
with the default augmentation, with it tuned (no flips), and with CIFAR's fixed 4-pixel crop.

    python scripts/bench_image_defaults.py --epochs 10 --seeds 0 1 2    # prints a Markdown table
"""

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmarks/ sits in the checkout, not in litlab

from benchmarks.glyph_digits import write_glyph_digits

from litlab.command.cli import build_cli

VARIANTS = {
    "defaults (crop 1/8 of the side, random flip)": {},
    "tuned: no flips": {"flip": "none"},
    "CIFAR's 4-pixel crop, random flip": {"crop_padding": 4},
}


def run(folder: Path, logs: Path, epochs: int, seed: int, augmentation: dict) -> float:
    """configs/cifar10_simple_cnn.yaml on the folder; the test accuracy of its best checkpoint."""
    args = ["fit", "--config", str(ROOT / "configs" / "cifar10_simple_cnn.yaml"), "--seed_everything", str(seed),
            "--data", "litlab.data.ImageFolderDataModule", "--data.init_args.root", str(folder),
            "--data.init_args.num_workers", "0", "--data.init_args.loader", "memory",
            "--trainer.max_epochs", str(epochs), "--trainer.logger.init_args.save_dir", str(logs),
            "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]  # fmt: skip
    for key, value in augmentation.items():
        args += [f"--data.init_args.augmentation.{key}", str(value)]
    cli = build_cli(args)
    return float(cli.trainer.callback_metrics["test/acc"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_glyph_digits(Path(tmp) / "digits", {"train": 300, "test": 100})
        print("| augmentation | test accuracy, mean over seeds | per seed |\n| :-- | --: | :-- |")
        for name, augmentation in VARIANTS.items():
            scores = [run(folder, Path(tmp) / "logs", args.epochs, seed, augmentation) for seed in args.seeds]
            print(f"| {name} | {statistics.mean(scores):.4f} | {', '.join(f'{s:.4f}' for s in scores)} |")
            print(json.dumps({"variant": name, "scores": scores}), file=sys.stderr)


if __name__ == "__main__":
    main()
