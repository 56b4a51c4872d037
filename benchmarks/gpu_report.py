"""The GPU check's figures: a `gpu-check` section and `figures/gpu_check.json` in its output folder, and
`merge`, which moves them into benchmarks/RESULTS.md and benchmarks/figures/ on the machine with the checkout."""

import datetime
import json
import shutil
import statistics
from pathlib import Path

from benchmarks.litlab_api import markdown_table, read_section, write_section
from benchmarks.speed_report import minutes_to, per_epoch_table, per_run_table, spread
from benchmarks.speed_runs import RunRecord
from benchmarks.targets import host_line, save_figures, versions, write_targets

RATIO_TARGET = 1.25  # litlab's time to the bar over airbench94's
CNN_TARGET = 0.93


def time_to_bar(runs: list[RunRecord]) -> tuple[float, float, float] | None:
    """(bar, airbench94's mean minutes to it, litlab's): the bar is 94%, or the best accuracy every run reached."""
    airbench = [r for r in runs if r.side == "airbench94" and r.epochs]
    litlab = [r for r in runs if r.side != "airbench94" and r.epochs]
    if not airbench or not litlab:
        return None
    bar = min(0.94, *(max(e.acc for e in r.epochs) for r in airbench + litlab))
    minutes = [statistics.fmean(minutes_to(r, bar) for r in side) for side in (airbench, litlab)]
    return bar, minutes[0], minutes[1]


def timing_table(timing: dict[str, RunRecord]) -> str:
    shipped = next(iter(timing.values()), None)
    steady = {name: r.epochs[1].train_s - r.epochs[0].train_s for name, r in timing.items() if len(r.epochs) > 1}
    rows = []
    for name, record in timing.items():
        first = f"{record.epochs[0].train_s:.2f}" if record.epochs else "–"
        second = f"{steady[name]:.2f}" if name in steady else "–"
        against = f"{steady[name] / steady[shipped.side]:.2f}" if shipped and shipped.side in steady else "–"
        rows.append([name, first, second, against if name in steady else "–"])
    return markdown_table(["setting", "epoch 1 train s (compiles)", "epoch 2 train s", "epoch 2 / shipped"], rows)


def write_figures(found: dict, out: Path) -> None:
    runs, cnn = found["side_by_side"], found["cnn"]
    for name, record in found["timing"].items():
        record.side = name
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    smoke = found["smoke"]
    kind = "SMOKE RUN on the CPU (a few hundred images): not a measurement" if smoke else "CIFAR-10 JPEG copy"
    lines = [
        "## GPU check (`benchmarks/gpu_check.py`)",
        "",
        f"Measured {now} on {host_line()}; {versions()}; {kind}. One process per run; seeds of the side by side:"
        f" {len(runs) // 2}. Stages skipped for time: {', '.join(found['skipped']) or 'none'}.",
        "",
        "airbench94 (its own code, as published) beside litlab's GPU fast recipe (configs/cifar10_fast.yaml +"
        " configs/trainer/gpu.yaml), test accuracy with flip-and-shift TTA after every epoch:",
        "",
        per_run_table(runs, (0.93, 0.94)) if runs else "not run",
    ]
    targets = []
    bar = time_to_bar(runs)
    if bar is not None:
        level, airbench, litlab = bar
        ratio = litlab / airbench
        lines += ["", f"Training time to {level:.2%}: airbench94 {airbench:.3f} min, litlab {litlab:.3f} min: "
                  f"litlab / airbench94 = {ratio:.2f} (target <= {RATIO_TARGET})."]  # fmt: skip
        status = "met" if ratio <= RATIO_TARGET else "NOT met"
        targets.append({"target": f"GPU: time to 94% (or the best all runs reached) <= {RATIO_TARGET}x airbench94's",
                        "measured": f"{ratio:.2f}x at {level:.2%}", "runs": len(runs), "status": status})  # fmt: skip
    lines += ["", "Per epoch:", "", per_epoch_table(runs)] if runs else []
    if cnn:
        finals = [r.epochs[-1].acc for r in cnn if r.epochs]
        lines += ["", "configs/cifar10_cnn.yaml + configs/trainer/gpu.yaml (ResNet-9), test accuracy at the end:", ""]
        lines += [per_run_table(cnn, (CNN_TARGET,))]
        status = "met" if finals and min(finals) >= CNN_TARGET else "NOT met"
        target = f"configs/cifar10_cnn.yaml >= {CNN_TARGET:.0%} (GPU, JPEG copy)"
        targets.append({"target": target, "measured": f"{spread(finals, 100)}%", "runs": len(finals), "status": status})
    if found["timing"]:
        lines += ["", "The fast recipe, one setting switched at a time (2 epochs, seed 0):", ""]
        lines += [timing_table(found["timing"])]
    if smoke:
        targets = [{**t, "status": "smoke run, not a measurement"} for t in targets]
    write_section(out / "RESULTS.md", "gpu-check", "\n".join(lines))
    save_figures(out / "RESULTS.md", "gpu_check", targets)


def merge(folder: Path, results: Path) -> None:
    """A GPU run's output folder into `results` (its gpu-check section) and `figures/`, then the targets table.

    A run that skipped stages (`--only`, or a budget cut) goes into a `gpu-check-partial` section of its own
    and leaves a complete run's section and figures in place."""
    section = read_section(folder / "RESULTS.md", "gpu-check")
    if section is None:
        raise SystemExit(f"{folder}/RESULTS.md has no gpu-check section: is it benchmarks/gpu_check.py's --out?")
    figures = results.parent / "figures"
    figures.mkdir(exist_ok=True)
    if json.loads((folder / "gpu_check_runs.json").read_text())["skipped"]:
        heading = "## GPU check, some stages only (`benchmarks/gpu_check.py`; the full check's section is above)"
        section = section.replace("## GPU check (`benchmarks/gpu_check.py`)", heading)
        write_section(results, "gpu-check-partial", section)
        (figures / "raw").mkdir(exist_ok=True)  # not figures/*.json, which the targets table reads
        shutil.copy(folder / "gpu_check_runs.json", figures / "raw" / "gpu_check_partial_runs.json")
    else:
        write_section(results, "gpu-check", section)
        shutil.copy(folder / "figures" / "gpu_check.json", figures / "gpu_check.json")
        (figures / "raw").mkdir(exist_ok=True)
        shutil.copy(folder / "gpu_check_runs.json", figures / "raw" / "gpu_check_runs.json")
    write_targets(results)
    print(f"merged {folder} into {results}")
