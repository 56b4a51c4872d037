"""Image defaults on a non-CIFAR size: the same model on generated 8x8 grayscale digits (benchmarks/glyph_digits.py)
with ImageFolderDataModule's default augmentation and with a small grid of hand-set ones; "tuned" is the
grid's best mean test accuracy (picked on the test split: an upper bound for tuning, so the gap is not flattered).

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

DEFAULTS = "defaults: crop 1/16 of the side, no flip"
VARIANTS = {  # None: the data module's own default; a dict replaces it whole
    DEFAULTS: None,
    "no crop, no flip": {"crop_padding": 0, "flip": "none"},
    "crop 1 px, no flip": {"crop_padding": 1, "flip": "none"},
    "crop 2 px, no flip": {"crop_padding": 2, "flip": "none"},
    "crop 1 px, random flip (the former default)": {"crop_padding": 1, "flip": "random"},
    "CIFAR's 4-pixel crop, random flip": {"crop_padding": 4, "flip": "random"},
}


def run(folder: Path, logs: Path, epochs: int, seed: int, augmentation: dict | None) -> float:
    """configs/cifar10_simple_cnn.yaml on the folder; the test accuracy of its best checkpoint."""
    args = ["fit", "--config", str(ROOT / "configs" / "cifar10_simple_cnn.yaml"), "--seed_everything", str(seed),
            "--data", "litlab.data.ImageFolderDataModule", "--data.init_args.root", str(folder),
            "--data.init_args.num_workers", "0", "--data.init_args.loader", "memory",
            "--trainer.max_epochs", str(epochs), "--trainer.logger.init_args.save_dir", str(logs),
            "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]  # fmt: skip
    args += ["--data.init_args.augmentation", json.dumps(augmentation)]  # the config's CIFAR flips replaced
    cli = build_cli(args)
    return float(cli.trainer.callback_metrics["test/acc"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--side", type=int, default=8, help="image side in pixels (glyphs drawn at 16, resized)")
    parser.add_argument("--only", nargs="+", choices=list(VARIANTS), default=list(VARIANTS), help="variants to run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_glyph_digits(Path(tmp) / "digits", {"train": 300, "test": 100}, side=args.side)
        print("| augmentation | test accuracy, mean over seeds | per seed |\n| :-- | --: | :-- |")
        means = {}
        for name in args.only:
            scores = [run(folder, Path(tmp) / "logs", args.epochs, seed, VARIANTS[name]) for seed in args.seeds]
            means[name] = statistics.mean(scores)
            print(f"| {name} | {means[name]:.4f} | {', '.join(f'{s:.4f}' for s in scores)} |", flush=True)
            print(json.dumps({"variant": name, "scores": scores}), file=sys.stderr)
        best = max(means, key=means.get)
        if DEFAULTS in means:
            gap = 100 * (means[best] - means[DEFAULTS])
            print(
                f"\nTuned (best of the grid): {best}, {means[best]:.4f}; defaults {means[DEFAULTS]:.4f}: "
                f"{gap:.1f} points below tuned."
            )


if __name__ == "__main__":
    main()
