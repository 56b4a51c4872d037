"""airbench94 beside litlab on the same data and machine: test accuracy and training time after every epoch.

    python benchmarks/airbench_side_by_side.py                    # 3 seeds of each, CPU; writes RESULTS.md
    python benchmarks/airbench_side_by_side.py --ablations        # the gap analysis (see benchmarks/README.md)
    python benchmarks/airbench_side_by_side.py --smoke --out /tmp/r.md   # a few hundred images, 1 epoch

airbench94 is the `airbench` package's own code (`pip install -e '.[bench]'`), on a CPU through
benchmarks/airbench_cpu_adapter.py (device and dtype only). litlab runs its shipped recipes through its own
CLI. Both read the shared CIFAR-10 JPEG copy (`make data-jpg`): airbench from the tensor files its loader
reads, converted from the same JPEGs (benchmarks/jpeg_copy.py). Every run is a fresh process.
"""

import argparse
import datetime
import json
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmarks/ sits in the checkout, not in litlab

from benchmarks.jpeg_copy import pixel_change  # noqa: E402
from benchmarks.litlab_api import environment_markdown, write_section  # noqa: E402
from benchmarks.speed_plan import ABLATIONS, RECIPES, airbench_spec, litlab_spec, prepare, run  # noqa: E402
from benchmarks.speed_report import per_epoch_table, per_run_table, spread, target_rows  # noqa: E402
from benchmarks.speed_runs import RunRecord, read_runs, write_runs  # noqa: E402
from benchmarks.targets import host_line, save_figures, versions, write_targets  # noqa: E402

CPU_TARGETS = ((5, 0.90), (15, 0.93))  # (training minutes, test accuracy), issue #17
BARS = (0.90, 0.93, 0.94)


def header(
    args: argparse.Namespace,
    what: str,
    when: datetime.datetime | None = None,
    kept: str = "",
    seeds: Sequence[int] = (),
) -> str:
    """Date (now, or `when` the runs were saved), host, versions, runs and the command; `kept` says which runs
    an earlier invocation measured (`--keep-earlier`), and `seeds` are then all the seeds reported."""
    seeds = sorted(seeds or args.seeds)
    return (
        f"Measured {when or datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M UTC}{kept} on {host_line()},"
        f" {versions()}; {len(seeds)} run(s) per side (seeds {', '.join(map(str, seeds))}), {what}."
        f" Cells: mean ± sd [min, max] over the runs. Command: `python benchmarks/airbench_side_by_side.py"
        f" {' '.join(sys.argv[1:])}`"
    )


def side_by_side(args: argparse.Namespace, kept: list[RunRecord]) -> list[RunRecord]:
    """airbench94 and then each recipe, seed by seed, after the `kept` runs; the records file is rewritten after
    every run."""
    data = prepare(Path(args.source), Path(args.work), args.smoke)
    records = Path(args.work) / "side_by_side_runs.json"
    runs = list(kept)
    for seed in args.seeds:
        specs = [airbench_spec(data, seed, "cpu", args.smoke)]
        specs += [litlab_spec(recipe, data, seed, Path(args.work) / "logs", args.smoke) for recipe in args.recipes]
        for spec in specs:
            runs.append(run(spec))
            write_runs(records, runs)
    return runs


def earlier_runs(args: argparse.Namespace) -> tuple[list[RunRecord], str]:
    """With `--keep-earlier`: the saved side-by-side runs `kept_runs` keeps, and its note (a seed of all sides takes
    about an hour, so seeds and sides are added one invocation at a time)."""
    records = Path(args.work) / "side_by_side_runs.json"
    if not (args.keep_earlier and records.is_file()):
        return [], ""
    kept, note = kept_runs([(r.side, r) for r in read_runs(records)], {"airbench94", *args.recipes}, args, records)
    return [r for _, r in kept], note


def kept_runs(
    saved: list[tuple[str, RunRecord]], redone: set[str], args: argparse.Namespace, records: Path
) -> tuple[list[tuple[str, RunRecord]], str]:
    """The saved (name, run) pairs this invocation does not train again (another seed, or a name not in `redone`),
    and the header's note on which they are: ' (earlier invocations, saved by <when>: a, b seed(s) 0, 1; c seed(s)
    0)', names grouped by their seeds."""
    kept = [(name, r) for name, r in saved if not (name in redone and r.seed in args.seeds)]
    if not kept:
        return [], ""
    seeds_by_name: dict[str, set[int]] = {}
    for name, r in kept:
        seeds_by_name.setdefault(name, set()).add(r.seed)
    names_by_seeds: dict[tuple[int, ...], list[str]] = {}
    for name, seeds in seeds_by_name.items():
        names_by_seeds.setdefault(tuple(sorted(seeds)), []).append(name)
    groups = "; ".join(
        f"{', '.join(names)} seed(s) {', '.join(map(str, seeds))}" for seeds, names in names_by_seeds.items()
    )
    return kept, f" (earlier invocations, saved by {saved_at(records):%Y-%m-%d %H:%M UTC}: {groups})"


def saved_at(records: Path) -> datetime.datetime:
    """When a records file was last written."""
    return datetime.datetime.fromtimestamp(records.stat().st_mtime, datetime.UTC)


def ablations(args: argparse.Namespace, kept: list[tuple[str, RunRecord]]) -> list[tuple[str, RunRecord]]:
    """The chosen ablations of `args.ablation_recipe` (all by default), and airbench94 on the copy and the
    twice-encoded copy, each over the seeds, after the `kept` runs; with `--final-only` each run is scored after
    its last epoch only."""
    found = list(kept)
    score_every = 0 if args.final_only else 1
    for ablation in (a for a in ABLATIONS if a.name in args.ablation_names):
        data = prepare(Path(args.source), Path(args.work), args.smoke, ablation.jpeg_twice)
        for seed in args.seeds:
            logs = Path(args.work) / "logs"
            spec = litlab_spec(args.ablation_recipe, data, seed, logs, args.smoke, ablation, score_every=score_every)
            found.append((ablation.name, run(spec)))
            reused = reused_airbench(args.reuse_airbench, seed) if ablation.name == "recipe" else None
            if ablation.airbench and (reused or not args.no_airbench):
                spec = airbench_spec(data, seed, "cpu", args.smoke, args.final_only)
                found.append((ablation.name, reused or run(spec)))
        save_ablation_runs(Path(args.work), found)
    return found


def saved_ablation_runs(work: Path) -> list[tuple[str, RunRecord]]:
    """What `save_ablation_runs` kept, to write the section again without training (`--from-records`)."""
    rows = json.loads((work / "ablation_runs.json").read_text())
    return [(row.pop("ablation"), RunRecord.from_json(row)) for row in rows]


def earlier_ablation_runs(args: argparse.Namespace) -> tuple[list[tuple[str, RunRecord]], str]:
    """With `--keep-earlier`: the saved ablation runs `kept_runs` keeps, and its note (a seed of every ablation
    takes about 40 minutes)."""
    records = Path(args.work) / "ablation_runs.json"
    if not (args.keep_earlier and records.is_file()):
        return [], ""
    return kept_runs(saved_ablation_runs(Path(args.work)), set(args.ablation_names), args, records)


def data_notes(work: Path, smoke: bool) -> list[str]:
    """How far the twice-encoded copy moved from the copy, where both were converted."""
    name = "smoke" if smoke else "full"
    once, twice = work / f"{name}-airbench" / "cifar10", work / f"{name}-jpeg-twice-airbench" / "cifar10"
    if not ((once / "train.pt").is_file() and (twice / "train.pt").is_file()):
        return []
    change, unchanged = pixel_change(once, twice)
    return [f"`jpeg-twice` data: encoding the copy once more moved a training pixel by {change:.3f} of 255 on average,"
            f" and left {100 * unchanged:.1f}% of the training images pixel for pixel the same (the copy was made with"
            " Pillow's defaults, quality 75 and 4:2:0 chroma subsampling, the settings used again here). So this row"
            " shows what a second generation costs; what the first cost needs the lossless originals, which cannot"
            " be fetched offline."]  # fmt: skip


def reused_airbench(records: str | None, seed: int) -> RunRecord | None:
    """airbench94's run of `seed` from a side-by-side records file (same data, same code: its scores are the same
    whether or not it was scored every epoch), so the ablations need not train it again."""
    if records is None:
        return None
    return next((r for r in read_runs(Path(records)) if r.side == "airbench94" and r.seed == seed), None)


def save_ablation_runs(work: Path, found: list[tuple[str, RunRecord]]) -> None:
    """Every ablation run so far, rewritten after each ablation: hours of runs are not lost to a late crash."""
    rows = [{"ablation": name, **record.to_json()} for name, record in found]
    (work / "ablation_runs.json").write_text(json.dumps(rows, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default=str(ROOT / "data" / "cifar10-jpg"), help="train/ and test/ folders")
    parser.add_argument("--work", default=str(ROOT / "data" / "speed"), help="converted data, logs (ignored)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"), help="results file to update")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--recipes", nargs="+", choices=sorted(RECIPES), default=["fast_cpu", "fast_cpu_15min"])
    parser.add_argument("--ablations", action="store_true", help="run the gap analysis instead")
    parser.add_argument("--ablation-recipe", choices=sorted(RECIPES), default="fast_cpu_15min")
    names = [a.name for a in ABLATIONS]
    parser.add_argument("--ablation-names", nargs="+", choices=names, default=names, help="a subset (default: all)")
    parser.add_argument("--final-only", action="store_true", help="ablations: score after the last epoch only")
    parser.add_argument("--no-airbench", action="store_true", help="ablations: train no airbench94 run (reused: kept)")
    reuse = "ablations: airbench94 on the copy taken from a side-by-side's records (data/speed/side_by_side_runs.json)"
    parser.add_argument("--reuse-airbench", metavar="RUNS_JSON", help=reuse)
    parser.add_argument("--from-records", action="store_true", help="ablations: write the section from the runs"
                        " saved in WORK/ablation_runs.json, training nothing")  # fmt: skip
    keep = (
        "report every saved run this invocation does not train again (other seeds, other sides or ablations;"
        " WORK/side_by_side_runs.json, or WORK/ablation_runs.json with --ablations) beside the new ones: add seeds"
        " or rows an invocation at a time"
    )
    parser.add_argument("--keep-earlier", action="store_true", help=keep)
    parser.add_argument("--smoke", action="store_true", help="a few hundred images, one epoch: code paths only")
    args = parser.parse_args()
    out = Path(args.out)
    what = "SMOKE RUN (a few hundred images, 1 epoch: not a measurement)" if args.smoke else "CIFAR-10 JPEG copy"
    if args.ablations:
        from benchmarks.ablation_report import ablation_section

        kept, kept_note = ([], "") if args.from_records else earlier_ablation_runs(args)
        found = saved_ablation_runs(Path(args.work)) if args.from_records else ablations(args, kept)
        when = saved_at(Path(args.work) / "ablation_runs.json") if args.from_records else None
        twice_ran = any(name == "jpeg-twice" for name, _ in found)
        notes = data_notes(Path(args.work), args.smoke) if twice_ran else []
        seeds = sorted({r.seed for _, r in found})
        section = ablation_section(found, header(args, what, when, kept_note, seeds), notes)
        write_section(out, "gap-analysis", section)
        print(f"wrote the gap-analysis section of {out}")
        return
    kept, kept_note = earlier_runs(args)
    runs = side_by_side(args, kept)
    litlab_sides = [r.side for r in runs if r.side != "airbench94"]
    section = [
        "## airbench94 beside litlab, CPU (`benchmarks/airbench_side_by_side.py`)",
        "",
        header(args, what, kept=kept_note, seeds=sorted({r.seed for r in runs})) + ".",
        "",
        "Test accuracy: all test images, flip-and-shift TTA on both sides, after every epoch. Training minutes:"
        " each side's own clock, evaluation excluded (airbench's includes its whitening set-up). Wall: the run"
        " from building it to its last evaluation, every evaluation and airbench's one-step warm-up included, Python"
        " imports not. airbench94 on the CPU: " + next((r.notes for r in runs if r.notes), "–") + ".",
        "",
        per_run_table(runs, BARS),
        "",
        "Per epoch:",
        "",
        per_epoch_table(runs),
    ]
    targets = target_rows(runs, sorted(set(litlab_sides)), CPU_TARGETS)
    if args.smoke:
        targets = [{**t, "status": "smoke run, not a measurement"} for t in targets]
    gap = [r.epochs[-1].acc for r in runs if r.side == "airbench94" and r.epochs]
    targets.append({"target": "airbench94 final test acc on the same data and CPU (reference)",
                    "measured": f"{spread(gap, 100)}%", "runs": len(gap), "status": "–"})  # fmt: skip
    write_section(out, "environment", environment_markdown())
    write_section(out, "airbench-side-by-side", "\n".join(section))
    save_figures(out, "airbench_side_by_side", targets)
    write_targets(out)
    print(f"wrote the airbench-side-by-side and targets sections of {out}")


if __name__ == "__main__":
    main()
