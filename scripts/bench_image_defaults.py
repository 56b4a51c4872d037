"""Image defaults on a non-CIFAR size: the same model on generated 8x8 grayscale digits (litlab.benchmarks.
glyph_digits) with the default augmentation, with it tuned (no flips), and with CIFAR's fixed 4-pixel crop.

    python scripts/bench_image_defaults.py --epochs 10 --seeds 0 1 2    # prints a Markdown table
"""

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import yaml

from litlab.benchmarks.config_stack import on_image_folder
from litlab.benchmarks.glyph_digits import write_glyph_digits
from litlab.cli import build_cli

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {
    "defaults (crop 1/8 of the side, random flip)": {},
    "tuned: no flips": {"augmentation": {"flip": "none"}},
    "CIFAR's 4-pixel crop, random flip": {"augmentation": {"crop_padding": 4}},
}


def run(folder: Path, logs: Path, epochs: int, seed: int, data: dict) -> float:
    raw = yaml.safe_load((ROOT / "configs" / "cifar10_simple_cnn.yaml").read_text())
    raw = on_image_folder(raw, folder, num_workers=0, loader="memory", **data)
    raw["seed_everything"] = seed
    raw["trainer"] |= {"max_epochs": epochs, "enable_progress_bar": False, "enable_model_summary": False}
    raw["trainer"]["logger"]["init_args"]["save_dir"] = str(logs)
    kept = ("ModelCheckpoint", "TestReport")  # the best checkpoint is tested; the report holds its score
    raw["trainer"]["callbacks"] = [c for c in raw["trainer"]["callbacks"] if c["class_path"].endswith(kept)]
    build_cli(["fit", "--config", json.dumps(raw)])
    (run_dir,) = sorted((logs / "cifar10_simple_cnn").iterdir(), key=lambda p: p.stat().st_mtime)[-1:]
    return json.loads((run_dir / "test_metrics.json").read_text())["metrics"]["test/acc"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_glyph_digits(Path(tmp) / "digits", {"train": 300, "test": 100})
        print("| augmentation | test accuracy, mean over seeds | per seed |\n| :-- | --: | :-- |")
        for name, data in VARIANTS.items():
            scores = [run(folder, Path(tmp) / "logs", args.epochs, seed, data) for seed in args.seeds]
            print(f"| {name} | {statistics.mean(scores):.4f} | {', '.join(f'{s:.4f}' for s in scores)} |")


if __name__ == "__main__":
    main()
