"""Where a training step of a CPU recipe spends its time: torch.profiler over real steps of `litlab fit`.

    python benchmarks/cpu_step_profile.py                      # fast_cpu at 32x32, 10 steps profiled; RESULTS.md
    python benchmarks/cpu_step_profile.py --recipe fast_cpu_15min --steps 5
    python benchmarks/cpu_step_profile.py --smoke --source <image folder> --out /tmp/r.md   # code path only

The run is the recipe as `litlab fit` builds it (benchmarks.speed_runs.built_litlab), every epoch at 32x32
(a 24x24 step costs about half as much), on the CIFAR-10 JPEG copy. After `--warmup` steps, `--steps` steps are
recorded; each operator's self time is summed into a few groups (convolutions, normalisation, ...). What the
operators do not account for (Python, Lightning's loop and hooks, the profiler's own cost) is the step's wall
time minus their sum. Writes the `cpu-step-profile` section of the results file.
"""

import argparse
import datetime
import re
import sys
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.profiler import ProfilerActivity, profile, schedule

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmarks/ sits in the checkout, not in litlab

from benchmarks.litlab_api import markdown_table, write_section  # noqa: E402
from benchmarks.speed_plan import RECIPES, litlab_spec, prepare  # noqa: E402
from benchmarks.speed_runs import built_litlab  # noqa: E402
from benchmarks.targets import host_line, versions  # noqa: E402

GROUPS = (  # (group, pattern on the operator's name, any case), first match wins; autograd's backward nodes
    # (ConvolutionBackward0, ...) are matched by the same words as their forward operators
    ("convolution (forward and backward)", r"conv"),
    ("batch norm", r"batch_?norm"),
    ("activation (GELU)", r"gelu"),
    ("pooling", r"pool"),
    ("matmul / linear", r"addmm|\bmm\b|matmul|linear"),
    ("optimizer (SGD, Lookahead)", r"_foreach|sgd|lerp"),
    ("dtype casts and copies", r"\bto\b|_?to_?copy|copy_|clone|contiguous"),
    ("loss", r"cross_entropy|nll_loss|log_softmax"),
)


class StepProfiler(L.Callback):
    """Steps torch.profiler's schedule after every training batch, and times the recorded steps the way the
    profiler bounds them: from one batch's end to the next one's, so fetching and augmenting a batch are in."""

    def __init__(self, warmup: int, steps: int) -> None:
        self.warmup, self.steps = warmup, steps
        self.profiler = profile(activities=[ProfilerActivity.CPU], schedule=schedule(wait=0, warmup=warmup,
                                active=steps, repeat=1))  # fmt: skip
        self.step_s: list[float] = []
        self._batches = 0
        self._last_end = 0.0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.profiler.start()
        self._last_end = time.perf_counter()

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        now = time.perf_counter()
        if self.warmup <= self._batches < self.warmup + self.steps:
            self.step_s.append(now - self._last_end)
        self._batches += 1
        self.profiler.step()
        if self._batches == self.warmup + self.steps:
            self.profiler.stop()
        self._last_end = time.perf_counter()  # the profiler's own bookkeeping is left out


def operators(profiler: Any) -> list[Any]:
    """The profiler's per-operator averages, less its own per-step markers."""
    return [e for e in profiler.key_averages() if not e.key.startswith("ProfilerStep")]


def grouped(profiler: Any, steps: int) -> dict[str, float]:
    """Milliseconds of operator self time per step, by group; the unmatched operators under "other operators"."""
    totals: dict[str, float] = {}
    for event in operators(profiler):
        group = next((g for g, pattern in GROUPS if re.search(pattern, event.key, re.I)), "other operators")
        totals[group] = totals.get(group, 0.0) + event.self_cpu_time_total / 1000 / steps
    return totals


def top_operators(profiler: Any, steps: int, count: int = 10) -> list[list[str]]:
    """The `count` operators with the most self time: name, ms per step, calls per step."""
    events = sorted(operators(profiler), key=lambda e: -e.self_cpu_time_total)[:count]
    return [[f"`{e.key}`", f"{e.self_cpu_time_total / 1000 / steps:.1f}", f"{e.count / steps:g}"] for e in events]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="fast_cpu")
    parser.add_argument("--source", default=str(ROOT / "data" / "cifar10-jpg"), help="train/ and test/ folders")
    parser.add_argument("--work", default=str(ROOT / "data" / "speed"), help="converted data, logs (ignored)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--smoke", action="store_true", help="a few hundred images, batches of 32: code path only")
    args = parser.parse_args()
    data = prepare(Path(args.source), Path(args.work), args.smoke)
    steps = str(args.warmup + args.steps)  # max_steps ends the run, in whichever epoch (smoke epochs are short)
    extra = ("--data.init_args.augmentation.epoch_sizes", "[]", "--trainer.max_steps", steps)
    extra += ("--trainer.max_epochs", "-1")
    spec = litlab_spec(args.recipe, data, 0, Path(args.work) / "logs", args.smoke, extra=extra)
    cli = built_litlab(spec["args"], data.folder, 0, Path(spec["logs"]))
    cli.trainer.limit_val_batches = 0  # read when fit sets up its loops: no sanity check, no validation
    profiler = StepProfiler(args.warmup, args.steps)
    cli.trainer.callbacks.append(profiler)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    steps = len(profiler.step_s)
    ops = grouped(profiler.profiler, steps)
    wall_ms = 1000 * sum(profiler.step_s) / steps
    rows = [[name, f"{ms:.1f}", f"{100 * ms / wall_ms:.0f}%"] for name, ms in sorted(ops.items(), key=lambda i: -i[1])]
    rest = wall_ms - sum(ops.values())
    rows.append(["not in any operator (Python, Lightning's loop and hooks, profiler)", f"{rest:.1f}",
                 f"{100 * rest / wall_ms:.0f}%"])  # fmt: skip
    rows.append(["step (wall, mean)", f"{wall_ms:.1f}", "100%"])
    batch = cli.datamodule.batch_size
    what = "SMOKE RUN (a few hundred images: not a measurement)" if args.smoke else "the CIFAR-10 JPEG copy"
    section = [
        f"## Where a CPU training step goes (`benchmarks/cpu_step_profile.py`, {args.recipe})",
        "",
        f"Measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M UTC} on {host_line()}, {versions()};"
        f" {' + '.join(RECIPES[args.recipe])} as `litlab fit` builds it, every epoch at 32x32, batch {batch},"
        f" {what}; {steps} steps recorded after {args.warmup}, one run, torch.set_num_threads"
        f"({torch.get_num_threads()}). Self time of the operators, grouped by name, per step. Command:"
        f" `python benchmarks/cpu_step_profile.py {' '.join(sys.argv[1:])}`",
        "",
        markdown_table(["where", "ms per step", "share of the step"], rows, align="lrr"),
        "",
        "The operators with the most self time:",
        "",
        markdown_table(["operator", "ms per step", "calls per step"], top_operators(profiler.profiler, steps)),
    ]
    write_section(Path(args.out), "cpu-step-profile", "\n".join(section))
    print("\n".join(section))


if __name__ == "__main__":
    main()
