"""Peak memory of CIFAR-10 training runs: hand-written loop against litlab's shipped loop, and the fast recipe.

    python scripts/bench_memory.py                        # writes the `memory` section of benchmarks/RESULTS.md
    python scripts/bench_memory.py --samples 10000 --steps 50 --out /tmp/RESULTS.md

SimpleCNN on 50,000 synthetic 3x32x32 images (float32 in memory, as a TensorDataset), batch 128, 200
steps; and `fast_cpu`, configs/cifar10_fast_cpu.yaml as shipped on the CIFAR-10 JPEG copy (`make data-jpg`;
skipped when it is not unpacked), one epoch with its validation. Each variant runs in its own child process,
which reports its own peak resident set size (VmHWM), once for set-up (imports, data generation) and once
for training, and the CUDA allocator's peak where a GPU is used. See benchmarks.memory, also for why
the child's `ru_maxrss` is not used.
"""

import argparse
import datetime
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmarks/ sits in the checkout, not in litlab

from benchmarks.memory import VARIANTS, MemoryRun, measure
from benchmarks.results import environment_markdown, markdown_table, write_section

WHAT = {
    "imports": "python, torch, lightning, litlab imported; nothing else",
    "data": "plus the synthetic data set generated (train, val, test splits)",
    "hand": "plus the hand-written loop",
    "litlab": "the shipped loop instead (config's logger, callbacks, progress bar), validation off",
    "litlab_val": "the same with validation and its dashboards (confusion matrix, PR curves, ...)",
    "fast_cpu": "CIFAR-10 (JPEG copy, memory path): configs/cifar10_fast_cpu.yaml as shipped, with its validation",
}


def _mb(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def section(runs: list[MemoryRun], args: argparse.Namespace, skipped: list[str]) -> str:
    rows = [
        [run.variant, WHAT[run.variant], *map(_mb, (run.setup_peak_mb, run.train_peak_mb, run.cuda_peak_mb))]
        + [f"{run.seconds:.0f}"]
        for run in runs
    ]
    headers = ["Variant", "What runs", "Set-up peak RSS MB", "Training peak RSS MB", "GPU peak MB", "Wall s"]
    lines = [
        "## Peak memory (`scripts/bench_memory.py`)",
        "",
        f"Measured {datetime.date.today()}: SimpleCNN, {args.samples} synthetic 3x32x32 training images"
        f" (+{args.samples // 25} val, +{args.samples // 25} test), batch {args.batch_size}, {args.steps} training"
        f" steps, torch.set_num_threads({args.threads}), accelerator {args.accelerator}; one child process per"
        " variant. Set-up peak: the child's peak RSS (VmHWM) up to the start of training (imports, data"
        " generation); training peak: its peak RSS from the start of training on (the high-water mark is reset"
        " there). GPU peak: `torch.cuda.max_memory_allocated`.",
    ]
    if any(run.variant == "fast_cpu" for run in runs):
        lines[-1] += (
            " `fast_cpu` instead trains the CPU fast recipe (AirbenchNet 24/96/96, batch 256, bf16) for one epoch of"
            f" at most {args.steps} steps on {Path(args.image_root).name}/ (on the JPEG copy: 45,000 training images"
            " as uint8 tensors, 176 steps, and validation on a fifth of a seeded 5,000-image val split); its set-up"
            " includes reading the decoded images from their on-disk cache."
        )
    lines += ["", markdown_table(headers, rows, align="llrrrr")]
    if skipped:
        lines += ["", f"Not measured: {', '.join(skipped)} (no image folder at {args.image_root}; `make data-jpg`)."]
    train = {run.variant: run.train_peak_mb for run in runs if run.train_peak_mb is not None}
    if "hand" in train and "litlab" in train:
        lines += [
            "",
            f"litlab's loop over the hand-written one while training: {train['litlab'] - train['hand']:+.0f} MB.",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"), help="results file to update")
    parser.add_argument("--samples", type=int, default=50_000, help="training images (default 50000)")
    parser.add_argument("--steps", type=int, default=200, help="training steps (default 200)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads in each child (default 1)")
    parser.add_argument("--accelerator", default="auto", help="auto (default: GPU if there is one), cpu or cuda")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--image-root", default=str(ROOT / "data" / "cifar10-jpg"), help="fast_cpu's image folder")
    args = parser.parse_args()
    skipped = [v for v in args.variants if v == "fast_cpu" and not Path(args.image_root, "train").is_dir()]

    runs = []
    for variant in (v for v in args.variants if v not in skipped):
        run = measure(
            variant, args.samples, args.steps, args.batch_size, args.threads, args.accelerator, args.image_root,
            configs=ROOT / "configs",
        )  # fmt: skip
        peaks = f"set-up {_mb(run.setup_peak_mb)} MB, training {_mb(run.train_peak_mb)} MB"
        print(f"{variant}: {peaks}, GPU {_mb(run.cuda_peak_mb)} MB, {run.seconds:.0f} s")
        runs.append(run)
    write_section(args.out, "environment", environment_markdown())
    write_section(args.out, "memory", section(runs, args, skipped))
    print(f"wrote the memory section of {args.out}")


if __name__ == "__main__":
    main()
