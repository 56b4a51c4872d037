"""The GPU check's stages (see benchmarks/gpu_check.py), run in order while the time budget lasts; the figures
are rewritten after every stage, so a run cut short still leaves what it measured."""

import argparse
import json
import time
from functools import partial
from pathlib import Path

import yaml

from benchmarks.gpu_report import write_figures
from benchmarks.speed_plan import RECIPES, ROOT, airbench_spec, litlab_spec, prepare, run
from benchmarks.speed_runs import RunRecord

TIMING_VARIANTS = {  # name: (litlab arguments, callbacks left out), one setting away from configs/cifar10_fast.yaml's
    "shipped (bf16, channels-last, no compile)": ((), ()),
    "float32": (("--trainer.precision", "32-true"), ()),
    "bf16-true (no autocast casts; BatchNorm in bf16 too)": (("--trainer.precision", "bf16-true"), ()),
    "no channels-last": (("--data.init_args.channels_last", "false"), ()),
    "torch.compile": (("--model.init_args.compile", "true"), ()),
    "without NaNGuard": ((), ("NaNGuard",)),
    "without the per-step callbacks": ((), ("NaNGuard", "StepSeeds", "LearningRates", "TrainSampleGrid")),
}


def run_stages(source: Path, args: argparse.Namespace, env: dict[str, str], start: float) -> None:
    device = "cpu" if args.smoke else "cuda"
    on_cpu = ("--trainer.accelerator", "cpu") if args.smoke else ()  # gpu.yaml asks for a GPU
    data = prepare(source, args.work, args.smoke)
    logs = args.work / "logs"
    found: dict = {"side_by_side": [], "cnn": [], "timing": {}, "skipped": [], "smoke": args.smoke}

    def side_by_side(seed: int) -> None:
        found["side_by_side"].append(run(airbench_spec(data, seed, device, args.smoke), env))
        found["side_by_side"].append(run(litlab_spec("fast_gpu", data, seed, logs, args.smoke, extra=on_cpu), env))

    def cnn() -> None:
        config = yaml.safe_load((ROOT / RECIPES["cnn_gpu"][0]).read_text())
        epochs = 1 if args.smoke else config["trainer"]["max_epochs"]  # scored once, at the end
        found["cnn"].append(
            run(litlab_spec("cnn_gpu", data, 0, logs, args.smoke, extra=on_cpu, score_every=epochs), env)
        )

    def timing(name: str, switch: tuple[str, ...], without: tuple[str, ...]) -> None:
        extra = (*on_cpu, "--trainer.max_epochs", "2", *switch)
        spec = litlab_spec("fast_gpu", data, 0, logs, args.smoke, extra=extra)
        found["timing"][name] = run({**spec, "without": [*spec["without"], *without]}, env)

    stages = [("side by side, seed 0", partial(side_by_side, 0)), ("ResNet-9 (configs/cifar10_cnn.yaml)", cnn)]
    # bf16-true's code path is float32's with other arguments; on a CPU it is many times slower, so smoke skips it
    variants = {n: v for n, v in TIMING_VARIANTS.items() if not (args.smoke and n.startswith("bf16-true"))}
    stages += [(f"timing: {name}", partial(timing, name, *variant)) for name, variant in variants.items()]
    more_seeds = () if args.smoke else (1, 2)  # the same code as seed 0's
    stages += [(f"side by side, seed {seed}", partial(side_by_side, seed)) for seed in more_seeds]
    longest = 0.0  # a stage is started only if one as long as the longest so far still fits the budget
    for name, stage in stages:
        elapsed = time.perf_counter() - start
        if args.only and not any(part in name for part in args.only):
            found["skipped"].append(name)
            continue
        if args.budget_s is not None and elapsed + longest > args.budget_s:
            found["skipped"].append(name)
            print(f"[gpu_check] {elapsed:.0f} s: {name} might not fit the {args.budget_s:.0f} s budget; skipped")
            continue
        print(f"[gpu_check] {elapsed:.0f} s: {name}", flush=True)
        stage()
        longest = max(longest, time.perf_counter() - start - elapsed)
        save(found, args.out)
    save(found, args.out)
    print(f"[gpu_check] done in {time.perf_counter() - start:.0f} s; figures in {args.out}", flush=True)


def save(found: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    plain = {
        **found,
        "side_by_side": [r.to_json() for r in found["side_by_side"]],
        "cnn": [r.to_json() for r in found["cnn"]],
        "timing": {name: r.to_json() for name, r in found["timing"].items()},
    }
    (out / "gpu_check_runs.json").write_text(json.dumps(plain, indent=1) + "\n")
    write_figures(found, out)


def load(out: Path) -> dict:
    plain = json.loads((out / "gpu_check_runs.json").read_text())
    return {
        **plain,
        "side_by_side": [RunRecord.from_json(r) for r in plain["side_by_side"]],
        "cnn": [RunRecord.from_json(r) for r in plain["cnn"]],
        "timing": {name: RunRecord.from_json(r) for name, r in plain["timing"].items()},
    }
