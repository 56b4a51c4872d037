"""Per-step cost of litlab's shipped training loop against a hand-written PyTorch loop and Lightning barebones.

    python scripts/bench_overhead.py                      # writes the `overhead` section of benchmarks/RESULTS.md
    python scripts/bench_overhead.py --runs 9 --threads 1 --out /tmp/RESULTS.md

Two workloads: the SimpleCNN at batch 256 on 3x32x32 images (compute dominates) and a Linear on 32
features at batch 64 (framework overhead dominates). All variants train the same model from the same
seed on the same batches, pre-generated on the CPU, with the config's optimizer and scheduler; they
run interleaved (hand, barebones, litlab, hand, ...). "litlab" is configs/synthetic_mlp.yaml as shipped
(TensorBoard logger, its callbacks, the progress bar, the ClassificationTask with train/acc), with only
the backbone, the input shape and the epoch count replaced and validation off. See benchmarks.loops.
"""

import argparse
import contextlib
import datetime
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmarks/ sits in the checkout, not in litlab

from benchmarks import loops
from benchmarks.results import environment_markdown, markdown_table, write_section
from benchmarks.timing import Summary, difference, interleave, ratio
from benchmarks.workload import Clock, Workload, seconds_per_step

from litlab.runtime.allocator import keep_freed_memory

WORKLOADS = {
    # name: (backbone, input shape, batch size, steps per epoch in full and --quick mode, variants, target)
    "SimpleCNN, batch 256": (
        {"class_path": "litlab.models.SimpleCNN", "init_args": {}},
        (3, 32, 32),
        256,
        (20, 3),
        ("hand", "litlab"),
        ("litlab", "hand", 1.03),
    ),
    "Linear 32->10, batch 64": (
        {"class_path": "litlab.models.MLP", "init_args": {"hidden_sizes": [], "dropout": 0.0}},
        (32,),
        64,
        (500, 30),
        ("hand", "barebones", "inert", "defaults", "task", "litlab"),
        ("litlab", "barebones", 1.10),
    ),
}
LABELS = {"hand": "hand-written", "barebones": "Lightning barebones", "litlab": "litlab (shipped)"}
# Where the tiny model's time goes, from the plain loop up to litlab as shipped.
BREAKDOWN = {
    "hand": "hand-written loop",
    "barebones": "Lightning, `Trainer(barebones=True)`",
    "inert": "Lightning barebones plus {inert} callbacks that override no hook (as many as litlab ships)",
    "defaults": "Lightning, default `Trainer` (bar, logger, checkpointing; the module logs nothing)",
    "task": "litlab's task and logger; no callbacks, bar or checkpoints",
    "litlab": "litlab as shipped (its callbacks, bar every 10 steps, checkpoints)",
}


def _quiet() -> contextlib.ExitStack:
    """Progress bars to /dev/null (their formatting is still timed), Lightning's banners and warnings off."""
    stack = contextlib.ExitStack()
    stack.enter_context(contextlib.redirect_stdout(stack.enter_context(open(os.devnull, "w"))))  # noqa: SIM115
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore")
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return stack


def measure(
    workload: Workload, variants: tuple[str, ...], runs: int, clock: Clock, accelerator: str, inert: int
) -> dict[str, list[float]]:
    """Seconds per step of each variant, one list entry per interleaved round (`inert`: callbacks for "inert")."""
    batches = workload.batches()
    run = {
        "hand": lambda: loops.train_by_hand(workload.backbone_model(), batches, workload, accelerator, clock),
        "barebones": lambda: loops.fit_barebones(workload.backbone_model(), batches, workload, accelerator, clock),
        "inert": lambda: loops.fit_barebones(workload.backbone_model(), batches, workload, accelerator, clock, inert),
        "litlab": lambda: loops.fit_litlab(batches, workload, accelerator=accelerator, clock=clock),
        "defaults": lambda: loops.fit_lightning_defaults(
            workload.backbone_model(), batches, workload, accelerator, clock
        ),
        "task": lambda: loops.fit_litlab(batches, workload, loops.without_callbacks, accelerator, clock),
    }
    timed: dict[str, Callable[[], float]] = {
        name: (lambda fit=run[name]: seconds_per_step(fit(), workload.steps)) for name in variants
    }
    with _quiet():
        return interleave(timed, runs)


def section(results: dict[str, dict[str, list[float]]], args: argparse.Namespace, inert: int) -> str:
    rows = []
    for name, seconds in results.items():
        *_, variants, (slow, fast, target) = WORKLOADS[name]
        per_step = {v: Summary.of(seconds[v]).scaled(1e3).format(2) for v in variants}
        overhead = ratio(seconds[slow], seconds[fast])
        rows.append(
            [
                name,
                *(per_step.get(v, "–") for v in LABELS),
                difference(seconds["litlab"], seconds["hand"]).scaled(1e3).format(2),
                ratio(seconds["litlab"], seconds["hand"]).format(3),
                f"{slow} / {fast} ≤ {target}: {'met' if overhead.median <= target else 'NOT met'}",
            ]
        )
    breakdown = []
    for name, seconds in results.items():
        for variant, label in BREAKDOWN.items():
            if variant in seconds and "barebones" in seconds:  # only where Lightning was timed too
                per_step = Summary.of(seconds[variant]).scaled(1e3).format(2)
                breakdown.append(
                    [
                        name,
                        label.format(inert=inert),
                        per_step,
                        ratio(seconds[variant], seconds["barebones"]).format(2),
                    ]
                )
    headers = ["Workload", *(f"{label} ms/step" for label in LABELS.values())]
    headers += ["litlab − hand ms/step", "litlab / hand", "target (median ratio)"]
    clock = "wall clock" if args.clock == "wall" else "CPU time of the process (time.process_time)"
    return "\n".join(
        [
            "## Training-loop overhead (`scripts/bench_overhead.py`)",
            "",
            f"Measured {datetime.date.today()}: {args.runs} interleaved runs per variant, torch.set_num_threads"
            f"({args.threads}), {args.accelerator}, {clock}, glibc malloc thresholds"
            f" {'fixed (litlab.runtime.allocator)' if args.fixed_malloc else 'left to glibc'}."
            " Each run trains 2 epochs over the same pre-generated"
            " batches; the figure is the mean step time of the second epoch (the first is warm-up), measured from"
            " `on_train_epoch_start` to `on_train_epoch_end` (so work done every N steps, such as logging and"
            " step checkpoints, is in; end-of-epoch work is not). Validation is off in every variant"
            " (`limit_val_batches=0`). Cells: median [min, max] over runs; differences and ratios are taken per"
            " round (side-by-side runs) and then summarised.",
            "",
            markdown_table(headers, rows, align="lrrrrrl"),
            "",
            "litlab's progress bar writes to /dev/null here; in a terminal, drawing adds the terminal's own cost.",
            "",
            "Where the time goes (same runs, interleaved):",
            "",
            markdown_table(["Workload", "loop", "ms/step", "/ barebones"], breakdown, align="llrr"),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"), help="results file to update")
    parser.add_argument("--runs", type=int, default=7, help="interleaved runs per variant (default 7)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1: one core per run)")
    parser.add_argument(
        "--clock", choices=("wall", "process"), default="wall", help="process: CPU time, for busy machines"
    )
    parser.add_argument("--accelerator", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--config", default=str(ROOT / "configs" / "synthetic_mlp.yaml"), help="litlab config to time")
    parser.add_argument(
        "--default-malloc", action="store_true", help="leave glibc's malloc thresholds alone (noisier CPU timings)"
    )
    parser.add_argument("--quick", action="store_true", help="a few steps per epoch: a smoke test, not a measurement")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    args.fixed_malloc = not args.default_malloc and keep_freed_memory()
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    results = {}
    inert = 0  # callbacks the shipped Trainer holds; the same for every workload, counted once
    for name, (backbone, shape, batch_size, (steps, quick_steps), variants, _) in WORKLOADS.items():
        steps = quick_steps if args.quick else steps
        workload = Workload(Path(args.config), backbone, shape, 10, batch_size, steps)
        inert = inert or loops.shipped_callback_count(workload, args.accelerator)
        results[name] = measure(workload, variants, args.runs, clock, args.accelerator, inert)
        print(
            f"{name}: " + ", ".join(f"{v} {Summary.of(s).scaled(1e3).format(2)} ms" for v, s in results[name].items())
        )
    write_section(args.out, "environment", environment_markdown())
    write_section(args.out, "overhead", section(results, args, inert))
    print(f"wrote the overhead section of {args.out}")


if __name__ == "__main__":
    main()
