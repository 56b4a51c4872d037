"""Time to accuracy on the real CIFAR-10 (JPEG copy): the textbook baseline against litlab's fast recipe, on this CPU.

    python scripts/bench_time_to_accuracy.py     # baseline + both fast recipes, writes RESULTS.md
    python scripts/bench_time_to_accuracy.py --budgets 5 --skip-baseline --baseline-accuracy 0.71
    # the 15-minute recipe at other widths and another schedule, timed to a bar of 71.44%, written elsewhere:
    python scripts/bench_time_to_accuracy.py --budgets 15 --widths 48 192 192 --epochs 14 --epoch-sizes 24 24 24 24 \\
        --skip-baseline --baseline-accuracy 0.7144 --out /tmp/sizing.md

- baseline: configs/cifar10_simple_cnn.yaml as it is (SimpleCNN, Adam lr 1e-3, batch 64), read through the
  torchvision path (Pillow decode + per-image transforms in 2 DataLoader workers), 10 epochs;
- fast: configs/cifar10_fast_cpu.yaml (AirbenchNet, whitening init, Lookahead, TTA, bf16) on the memory path,
  sized for 5 minutes of training, and the same with configs/variants/cifar10_fast_cpu_15min.yaml stacked on it
  (the full-width network), sized for 15.

Both train on all 50,000 training images and are scored on the 10,000 test images (see
benchmarks.time_to_accuracy): after every epoch, except the 15-minute recipe, scored at its end
only (scoring the wide network with test-time augmentation costs about half a training epoch).
Targets (issue #3): >= 85% within 5 minutes, >= 90% within 15.
"""

import argparse
import datetime
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmarks/ sits in the checkout, not in litlab

from benchmarks.results import environment_markdown, markdown_table, write_section
from benchmarks.time_to_accuracy import Point, best_within, eval_folder, seconds_to_reach, train

from litlab.command.cli import resolved_config
from litlab.runtime.allocator import keep_freed_memory

TARGETS = ((5, 0.85), (15, 0.90))  # (minutes, test accuracy)
# The fast recipe per time budget in minutes: configs stacked in order, as `litlab fit --config A --config B`.
FAST_RECIPES = {
    5: ["cifar10_fast_cpu.yaml"],
    15: ["cifar10_fast_cpu.yaml", "variants/cifar10_fast_cpu_15min.yaml"],
}


def experiment(
    configs: str | Sequence[str],
    folder: Path,
    logs: str,
    epochs: int | None,
    data: dict[str, Any],
    score_every: int = 1,
    widths: list[int] | None = None,
    epoch_sizes: list[int] | None = None,
) -> dict[str, Any]:
    """The shipped config(s) stacked and resolved by `litlab`'s own parser, with the data preset
    configs/data/cifar10_jpg.yaml on top (the configs' loader settings carry over) reading `folder`, `epochs`
    epochs (None: the config's), the full test set scored every `score_every` epochs (0: at the end only);
    `widths` replaces AirbenchNet's widths and `epoch_sizes` the progressive-resizing schedule."""
    args = [a for c in ([configs] if isinstance(configs, str) else configs) for a in ("--config", ROOT / "configs" / c)]
    args += ["--config", ROOT / "configs" / "data" / "cifar10_jpg.yaml", "--data.init_args.root", folder]
    for key, value in data.items():
        args += [f"--data.init_args.{key}", value if isinstance(value, str) else json.dumps(value)]
    if widths is not None:
        args += ["--model.init_args.backbone.init_args.widths", json.dumps(widths)]
    if epoch_sizes is not None:
        args += ["--data.init_args.augmentation.epoch_sizes", json.dumps(epoch_sizes)]
    args += ["--trainer.limit_val_batches", "1.0", "--trainer.logger.init_args.save_dir", logs]
    args += ["--trainer.max_epochs", str(epochs)] if epochs else []
    config = resolved_config([str(a) for a in args], run=False)
    config["trainer"]["check_val_every_n_epoch"] = score_every or config["trainer"]["max_epochs"]
    return config


def minutes(seconds: float | None) -> str:
    return "not reached" if seconds is None else f"{seconds / 60:.1f}"


def overrides(args: argparse.Namespace) -> str:
    """What the command line changed in the fast recipes, for the table's row names."""
    changes = [f"widths {'/'.join(map(str, args.widths))}"] if args.widths else []
    changes += [f"{args.epochs} epochs"] if args.epochs else []
    changes += [f"sizes {','.join(map(str, args.epoch_sizes))}"] if args.epoch_sizes is not None else []
    return "".join(f", {change}" for change in changes)


def section(
    baseline: list[Point], fast: dict[int, list[Point]], target_accuracy: float, args: argparse.Namespace
) -> str:
    """The results section; `fast` maps each recipe's budget in minutes to its scored epochs."""
    rows = []
    runs = [("baseline (SimpleCNN, Adam, PIL)", baseline)]
    runs += [(f"litlab fast recipe (CPU{overrides(args)}), {budget}-minute", p) for budget, p in fast.items()]
    for name, points in runs:
        if not points:
            continue
        best = best_within(points, args.budget_minutes * 60)
        every_epoch = len(points) == points[-1].epoch  # else scored at the end only: no time to the bar
        rows.append(
            [
                name,
                str(points[-1].epoch),
                f"{points[-1].train_seconds / 60:.1f}",
                f"{points[-1].accuracy:.4f}",
                minutes(seconds_to_reach(points, target_accuracy)) if every_epoch else "– (scored at the end)",
                "–" if best is None else f"{best.accuracy:.4f} (epoch {best.epoch})",
            ]
        )
    curve = [
        [f"{budget} min", str(p.epoch), f"{p.train_seconds / 60:.2f}", f"{p.accuracy:.4f}"]
        for budget, points in fast.items()
        for p in points
    ]
    verdicts = []
    for limit, accuracy in TARGETS:
        best = best_within([p for points in fast.values() for p in points], limit * 60)
        reached = best is not None and best.accuracy >= accuracy
        got = "nothing finished" if best is None else f"best {best.accuracy:.2%}"
        verdicts.append(f"- >= {accuracy:.0%} within {limit} min: {'met' if reached else 'NOT met'} ({got}).")
    return "\n".join(
        [
            "## Time to accuracy, CPU (`scripts/bench_time_to_accuracy.py`)",
            "",
            f"Measured {datetime.date.today()}, one run each, torch.set_num_threads({args.threads}), on the shared"
            " JPEG copy of CIFAR-10: all 50,000 training images, test accuracy on the 10,000 test images after"
            " every epoch (the 15-minute recipe: at its end only). Minutes are training time only"
            " (`EpochTimer`'s `time/train_s`): evaluation, JPEG decoding (cached) and start-up are not counted."
            " glibc malloc thresholds fixed, as the `litlab` command does (`litlab.runtime.allocator`).",
            "",
            markdown_table(
                [
                    "Run",
                    "epochs",
                    "train minutes",
                    "final test acc",
                    f"minutes to {target_accuracy:.4f}",
                    f"best within {args.budget_minutes} min",
                ],
                rows,
                align="lrrrrr",
            ),  # fmt: skip
            "",
            f"The baseline's final accuracy ({target_accuracy:.4f}) is the bar both runs are timed to.",
            "",
            *verdicts,
            "",
            "Fast recipes, per epoch (a point inside a longer schedule is not what a schedule of that length gives):",
            "",
            markdown_table(["recipe", "epoch", "train minutes", "test acc"], curve, align="rrrr"),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default=str(ROOT / "data" / "cifar10-jpg"), help="train/ and test/ image folder")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"), help="results file to update")
    parser.add_argument(
        "--budgets", type=int, nargs="+", choices=sorted(FAST_RECIPES), default=sorted(FAST_RECIPES),
        help="run the fast recipe sized for each of these budgets (minutes)",
    )  # fmt: skip
    parser.add_argument("--widths", type=int, nargs=3, help="AirbenchNet widths for the fast runs (default: config's)")
    parser.add_argument("--epochs", type=int, help="epochs of the fast runs (default: each config's)")
    parser.add_argument("--epoch-sizes", type=int, nargs="*", help="progressive resizing of the fast runs, e.g. 24 24")
    parser.add_argument("--baseline-epochs", type=int, default=10, help="epochs of the textbook baseline")
    parser.add_argument("--skip-baseline", action="store_true", help="time the fast recipe only")
    parser.add_argument("--baseline-accuracy", type=float, help="with --skip-baseline: the bar to time to")
    parser.add_argument("--budget-minutes", type=float, default=15, help="report the best accuracy within this")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch.set_num_threads")
    args = parser.parse_args()
    if args.skip_baseline and args.baseline_accuracy is None:
        parser.error("--skip-baseline needs --baseline-accuracy")

    torch.set_num_threads(args.threads)
    keep_freed_memory()  # as the `litlab` command does
    folder = eval_folder(Path(args.source).resolve(), ROOT / "data" / "cifar10-jpg-timed")
    with tempfile.TemporaryDirectory(prefix="litlab-tta-") as logs:
        baseline: list[Point] = []
        if not args.skip_baseline:
            pil = {"loader": "torchvision"}
            baseline = train(experiment("cifar10_simple_cnn.yaml", folder, logs, args.baseline_epochs, pil))
        fast = {}
        for budget in sorted(args.budgets):  # the 5-minute recipe is scored every epoch, the 15-minute at its end
            score_every = 1 if budget == min(FAST_RECIPES) else 0
            memory = {"loader": "memory"}
            recipe = experiment(
                FAST_RECIPES[budget], folder, logs, args.epochs, memory, score_every, args.widths, args.epoch_sizes
            )
            fast[budget] = train(recipe)
    target = baseline[-1].accuracy if baseline else args.baseline_accuracy
    for name, points in [("baseline", baseline), *((f"fast-{b}min", points) for b, points in fast.items())]:
        for p in points:
            print(f"{name} epoch {p.epoch}: {p.train_seconds / 60:.2f} min, test acc {p.accuracy:.4f}")
    write_section(args.out, "environment", environment_markdown())
    write_section(args.out, "time-to-accuracy", section(baseline, fast, target, args))
    print(f"wrote the time-to-accuracy section of {args.out}")


if __name__ == "__main__":
    main()
