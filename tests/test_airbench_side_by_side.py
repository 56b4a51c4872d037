"""airbench94 beside litlab: the data conversion, the CPU adapter, and the side-by-side script's smoke mode."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from benchmarks.jpeg_copy import reencoded, subset, to_airbench
from benchmarks.litlab_api import eval_folder, read_section
from torchvision.datasets import ImageFolder

from conftest import REPO, write_image_folder


def test_airbench_tensors_hold_the_folders_pixels_and_labels_in_imagefolder_order(tmp_path: Path) -> None:
    source = write_image_folder(tmp_path / "src", {"train": 3, "test": 2}, size=32)  # PNG: lossless
    out = to_airbench(source, tmp_path / "cifar10")
    for split in ("train", "test"):
        data = torch.load(out / f"{split}.pt")
        reference = ImageFolder(source / split)  # Pillow's decoding, torchvision's order
        assert data["classes"] == reference.classes == ["cat", "dog", "frog"]
        assert data["images"].dtype == torch.uint8 and data["images"].shape == (len(reference), 32, 32, 3)
        assert data["labels"].tolist() == reference.targets
        for index, (image, _) in enumerate(reference):
            assert torch.equal(data["images"][index], torch.from_numpy(np.array(image)))


def test_reencoded_copy_has_every_image_once_more_as_jpeg_and_subset_links_the_first_per_class(tmp_path: Path) -> None:
    source = write_image_folder(tmp_path / "src", {"train": 3, "test": 2}, size=32, suffix=".jpg")
    twice = reencoded(source, tmp_path / "twice")
    originals = sorted(p.relative_to(source) for p in source.rglob("*.jpg"))
    assert sorted(p.relative_to(twice) for p in twice.rglob("*.jpg")) == originals
    first, second = (
        torch.load(to_airbench(f, tmp_path / f.name / "t") / "train.pt")["images"] for f in (source, twice)
    )
    assert first.shape == second.shape and not torch.equal(first, second)  # lossy: the pixels moved
    assert (first.float() - second.float()).abs().mean() < 20  # but the pictures are the same
    small = subset(source, tmp_path / "small", {"train": 2, "test": 1})
    assert sorted(p.name for p in (small / "train" / "dog").iterdir()) == ["0000.jpg", "0001.jpg"]
    assert len(list((small / "test").rglob("*.jpg"))) == 3


def test_cpu_adapter_makes_lookahead_update_bf16_weights_and_restores_everything() -> None:
    airbench = pytest.importorskip("airbench", reason="airbench is the benchmark-only extra: pip install -e '.[bench]'")
    import airbench.utils as utils
    from benchmarks.airbench_cpu_adapter import make_net94_cpu, on_cpu_bf16

    before = (utils.torch, utils.CifarLoader, torch.nn.Module.half, torch.nn.Module.cuda)
    with on_cpu_bf16():
        net = make_net94_cpu(widths={"block1": 8, "block2": 8, "block3": 8})
        assert net[2].conv1.weight.dtype == torch.bfloat16 and net[2].norm1.bias.dtype == torch.float32
        lookahead = utils.LookaheadState(net)
        start = net[2].conv1.weight.detach().float().clone()
        with torch.no_grad():
            net[2].conv1.weight.add_(1.0)
        lookahead.update(net, decay=0.5)  # airbench's own update: average halfway, then weights <- average
        assert torch.allclose(net[2].conv1.weight.float(), start + 0.5, atol=0.02)
    assert (utils.torch, utils.CifarLoader, torch.nn.Module.half, torch.nn.Module.cuda) == before
    assert airbench.make_net94 is not None


@pytest.mark.slow  # two training processes: about 1-2 minutes on 2 cores
def test_smoke_mode_trains_both_sides_and_writes_their_sections(tmp_path: Path) -> None:
    pytest.importorskip("airbench", reason="airbench is the benchmark-only extra: pip install -e '.[bench]'")
    source = write_image_folder(tmp_path / "src", {"train": 40, "test": 12}, size=32, suffix=".jpg")
    results = tmp_path / "RESULTS.md"
    command = [sys.executable, str(REPO / "benchmarks" / "airbench_side_by_side.py"), "--smoke", "--seeds", "3"]
    command += ["--recipes", "fast_cpu", "--source", str(source), "--work", str(tmp_path / "work")]
    subprocess.run([*command, "--out", str(results)], check=True, cwd=tmp_path)
    runs = json.loads((tmp_path / "work" / "side_by_side_runs.json").read_text())
    assert [(r["side"], r["seed"], len(r["epochs"])) for r in runs] == [("airbench94", 3, 1), ("fast_cpu", 3, 1)]
    for record in runs:
        scored = torch.tensor(record["epochs"][0]["acc"]) * 30  # 3 classes x 10 test images in the smoke subset
        assert torch.isclose(scored, scored.round(), atol=1e-3) and record["epochs"][0]["train_s"] > 0
    assert runs[0]["epochs"][-1]["acc"] == runs[0]["own_final_acc"]  # scored as airbench scores itself
    section = read_section(results, "airbench-side-by-side")
    assert "SMOKE RUN" in section and "| airbench94 | 1 | 1 |" in section and "| fast_cpu | 1 | 1 |" in section
    figures = json.loads((tmp_path / "figures" / "airbench_side_by_side.json").read_text())
    assert {t["status"] for t in figures["targets"][:2]} == {"smoke run, not a measurement"}
    assert "smoke run, not a measurement" in read_section(results, "targets")


def test_every_ablation_is_a_stack_litlabs_cli_accepts_and_changes_only_its_part(tmp_path: Path) -> None:
    from benchmarks.speed_plan import ABLATIONS, Data, litlab_spec
    from benchmarks.speed_runs import built_litlab

    source = write_image_folder(tmp_path / "src", {"train": 2, "test": 1}, size=32)
    data = Data(eval_folder(source, tmp_path / "scored"), tmp_path / "unused")
    built = {}
    for ablation in ABLATIONS:
        spec = litlab_spec("fast_cpu_15min", data, 7, tmp_path / "logs", False, ablation)
        cli = built_litlab(spec["args"], Path(spec["folder"]), spec["seed"], Path(spec["logs"]), tuple(spec["without"]))
        names = {type(c).__name__ for c in cli.trainer.callbacks}
        built[ablation.name] = (cli.datamodule.augmentation.epoch_sizes, cli.datamodule.batch_size,
                                cli.model.hparams.tta, "WhiteningInit" in names, "Lookahead" in names)  # fmt: skip
        assert cli.datamodule.root == data.folder and cli.trainer.max_epochs == 10
        assert cli.trainer.check_val_every_n_epoch == 1
    spec = litlab_spec("fast_cpu_15min", data, 7, tmp_path / "logs", False, score_every=0)
    final_only = built_litlab(spec["args"], data.folder, 7, tmp_path / "logs", score_every=spec["score_every"])
    assert final_only.trainer.check_val_every_n_epoch == 10  # `--final-only`: scored after the last epoch only
    shipped = ((24, 24, 24, 24, 24), 256, True, True, True)
    assert built["recipe"] == built["jpeg-twice"] == shipped  # the twice-encoded data comes from `prepare`
    assert built["no-resizing"] == ((), *shipped[1:])
    assert built["batch-1024"] == (shipped[0], 1024, *shipped[2:])
    assert built["no-tta"] == (*shipped[:2], False, *shipped[3:])
    assert built["no-whitening"] == (*shipped[:3], False, True)
    assert built["no-lookahead"] == (*shipped[:4], False)


def test_gap_analysis_rows_compare_each_ablation_with_the_same_sides_shipped_recipe() -> None:
    from benchmarks.ablation_report import ablation_section
    from benchmarks.speed_runs import EpochRecord, RunRecord

    def run(side: str, seed: int, accuracy: float) -> RunRecord:
        return RunRecord(side, seed, "cpu", [EpochRecord(1, 60.0, 0.5), EpochRecord(2, 120.0, accuracy)])

    ours, twice, no_tta = "fast_cpu_15min", "fast_cpu_15min jpeg-twice", "fast_cpu_15min no-tta"
    found = [
        ("recipe", run(ours, 0, 0.90)), ("recipe", run(ours, 1, 0.92)),
        ("recipe", run("airbench94", 0, 0.93)), ("recipe", run("airbench94", 1, 0.93)),
        ("jpeg-twice", run(twice, 0, 0.89)), ("jpeg-twice", run(twice, 1, 0.89)),
        ("jpeg-twice", run("airbench94", 0, 0.92)), ("jpeg-twice", run("airbench94", 1, 0.9)),
        ("no-tta", run(no_tta, 0, 0.905)), ("no-tta", run(no_tta, 1, 0.905)),
    ]  # fmt: skip
    lines = ablation_section(found, "header").splitlines()
    rows = {tuple(cells[:2]): cells for cells in (line.strip("| ").split(" | ") for line in lines)}
    assert rows[("jpeg-twice", ours)][5] == "-2.00 ± 1.41"  # seed by seed: -1 and -3 points
    assert rows[("jpeg-twice", "airbench94")][5] == "-2.00 ± 1.41"  # against airbench94's own recipe: -1 and -3
    assert rows[("no-tta", ours)][5] == "-0.50 ± 1.41"  # +0.5 and -1.5
    assert rows[("recipe", "airbench94")][4] == "93.00 ± 0.00 [93.00, 93.00]"
    assert rows[("no-tta", ours)][2].endswith("(`--model.init_args.tta false`)")


def test_ablations_reuse_the_side_by_sides_airbench_run_of_the_same_seed_only(tmp_path: Path) -> None:
    from benchmarks.airbench_side_by_side import reused_airbench
    from benchmarks.speed_runs import EpochRecord, RunRecord

    runs = [RunRecord("airbench94", 0, "cpu", [EpochRecord(10, 900.0, 0.91)]),
            RunRecord("fast_cpu", 1, "cpu", [EpochRecord(9, 200.0, 0.87)])]  # fmt: skip
    records = tmp_path / "side_by_side_runs.json"
    records.write_text(json.dumps([r.to_json() for r in runs]))
    assert reused_airbench(str(records), 0) == runs[0]
    assert reused_airbench(str(records), 1) is None  # seed 1 has no airbench94 run: the ablation trains one
    assert reused_airbench(None, 0) is None


def test_pixel_change_counts_what_a_second_encoding_moved(tmp_path: Path) -> None:
    from benchmarks.jpeg_copy import pixel_change

    source = write_image_folder(tmp_path / "src", {"train": 4, "test": 1}, size=32, suffix=".jpg")
    twice = reencoded(source, tmp_path / "twice")
    once_tensors, twice_tensors = to_airbench(source, tmp_path / "a"), to_airbench(twice, tmp_path / "b")
    change, unchanged = pixel_change(once_tensors, twice_tensors)
    a, b = (torch.load(f / "train.pt")["images"].numpy().astype(np.int64) for f in (once_tensors, twice_tensors))
    assert change == pytest.approx(np.abs(a - b).mean(), rel=1e-6) and change > 0
    assert unchanged == pytest.approx(np.mean([np.array_equal(x, y) for x, y in zip(a, b, strict=True)]))
    assert pixel_change(once_tensors, once_tensors) == (0.0, 1.0)


def test_from_records_writes_the_gap_analysis_again_from_the_saved_runs_without_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import benchmarks.airbench_side_by_side as script
    from benchmarks.speed_runs import EpochRecord, RunRecord

    found = [("recipe", RunRecord("fast_cpu", 0, "cpu", [EpochRecord(9, 231.0, 0.8705)])),
             ("no-tta", RunRecord("fast_cpu no-tta", 0, "cpu", [EpochRecord(9, 230.0, 0.8601)]))]  # fmt: skip
    script.save_ablation_runs(tmp_path, found)
    assert script.saved_ablation_runs(tmp_path) == found
    monkeypatch.setattr(script, "ablations", lambda args: pytest.fail("--from-records must not train"))
    out = tmp_path / "RESULTS.md"
    argv = ["x", "--ablations", "--from-records", "--seeds", "0", "--work", str(tmp_path), "--out", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    script.main()
    rows = {line.split(" | ")[0].strip("| "): line for line in read_section(out, "gap-analysis").splitlines()}
    assert rows["recipe"].endswith("| 1 | 87.05 | +0.00 | 3.85 |")  # one run: no spread; 231 s = 3.85 min
    assert rows["no-tta"].endswith("| 1 | 86.01 | -1.04 | 3.83 |")


def test_the_note_on_twice_encoded_data_comes_only_with_the_jpeg_twice_ablation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import benchmarks.airbench_side_by_side as script
    from benchmarks.speed_runs import EpochRecord, RunRecord

    monkeypatch.setattr(script, "data_notes", lambda work, smoke: ["NOTE ON THE TWICE-ENCODED DATA"])
    out = tmp_path / "RESULTS.md"
    monkeypatch.setattr(sys, "argv", ["x", "--ablations", "--from-records", "--work", str(tmp_path), "--out", str(out)])
    found = [("recipe", RunRecord("fast_cpu", 0, "cpu", [EpochRecord(9, 231.0, 0.87)]))]
    for ablation in ("no-tta", "jpeg-twice"):
        found.append((ablation, RunRecord(f"fast_cpu {ablation}", 0, "cpu", [EpochRecord(9, 230.0, 0.86)])))
        script.save_ablation_runs(tmp_path, found)
        script.main()
        noted = "NOTE ON THE TWICE-ENCODED DATA" in read_section(out, "gap-analysis")
        assert noted == (ablation == "jpeg-twice")


def test_keep_earlier_reports_the_saved_seeds_beside_the_new_ones_and_replaces_a_rerun_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import benchmarks.airbench_side_by_side as script
    from benchmarks.speed_runs import EpochRecord, RunRecord, read_runs, write_runs

    def record(side: str, seed: int, accuracy: float) -> RunRecord:
        return RunRecord(side, seed, "cpu", [EpochRecord(1, 60.0, accuracy)], wall_s=90.0)

    earlier = [record("airbench94", 0, 0.90), record("fast_cpu", 0, 0.86), record("fast_cpu_15min", 0, 0.91),
               record("fast_cpu", 1, 0.10)]  # fmt: skip
    write_runs(tmp_path / "side_by_side_runs.json", earlier)
    monkeypatch.setattr(script, "prepare", lambda *args: None)
    monkeypatch.setattr(script, "airbench_spec", lambda data, seed, *rest: {"side": "airbench94", "seed": seed})
    monkeypatch.setattr(script, "litlab_spec", lambda recipe, data, seed, *rest: {"side": recipe, "seed": seed})
    monkeypatch.setattr(script, "run", lambda spec: record(spec["side"], spec["seed"], 0.88))
    out = tmp_path / "RESULTS.md"
    argv = ["x", "--seeds", "1", "--recipes", "fast_cpu", "--keep-earlier", "--work", str(tmp_path), "--out", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    script.main()
    saved = [(r.side, r.seed, r.epochs[-1].acc) for r in read_runs(tmp_path / "side_by_side_runs.json")]
    # fast_cpu_15min was not asked for: kept as it was; seed 1's earlier fast_cpu run is replaced by the new one
    assert saved == [("airbench94", 0, 0.90), ("fast_cpu", 0, 0.86), ("fast_cpu_15min", 0, 0.91),
                     ("airbench94", 1, 0.88), ("fast_cpu", 1, 0.88)]  # fmt: skip
    section = read_section(out, "airbench-side-by-side")
    assert "2 run(s) per side (seeds 0, 1)" in section
    assert ": airbench94, fast_cpu, fast_cpu_15min seed(s) 0)" in section.split("\n")[2]
    assert "| fast_cpu | 2 | 1 | 87.00 ± 1.41 [86.00, 88.00] |" in section  # mean and sd of 0.86 and 0.88


def test_ablations_keep_earlier_seeds_and_report_the_change_seed_by_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import benchmarks.airbench_side_by_side as script
    from benchmarks.speed_runs import EpochRecord, RunRecord

    def record(side: str, seed: int, accuracy: float) -> RunRecord:
        return RunRecord(side, seed, "cpu", [EpochRecord(9, 240.0, accuracy)])

    # seed 0 was saved earlier, seed 1 is trained now and scores 2 points higher on both rows: seed by seed,
    # no-tta costs exactly 1 point each time, so the change's sd is 0 while the accuracies' sd is 1.41
    script.save_ablation_runs(tmp_path, [("recipe", record("fast_cpu", 0, 0.86)),
                                         ("no-tta", record("fast_cpu no-tta", 0, 0.85)),
                                         ("no-lookahead", record("fast_cpu no-lookahead", 0, 0.80))])  # fmt: skip
    trained = {"fast_cpu": 0.88, "fast_cpu no-tta": 0.87}
    monkeypatch.setattr(script, "prepare", lambda *args: None)
    monkeypatch.setattr(script, "litlab_spec", lambda recipe, data, seed, logs, smoke, ablation, **kw: ablation)
    monkeypatch.setattr(script, "run", lambda ablation: record(
        "fast_cpu" if ablation.name == "recipe" else f"fast_cpu {ablation.name}", 1,
        trained["fast_cpu" if ablation.name == "recipe" else f"fast_cpu {ablation.name}"]))  # fmt: skip
    out = tmp_path / "RESULTS.md"
    argv = ["x", "--ablations", "--ablation-names", "recipe", "no-tta", "--ablation-recipe", "fast_cpu",
            "--seeds", "1", "--no-airbench", "--keep-earlier", "--work", str(tmp_path), "--out", str(out)]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    script.main()
    saved = [(name, r.seed, r.epochs[-1].acc) for name, r in script.saved_ablation_runs(tmp_path)]
    # no-lookahead was not asked for: kept, with the one seed it has
    assert saved == [("recipe", 0, 0.86), ("no-tta", 0, 0.85), ("no-lookahead", 0, 0.80),
                     ("recipe", 1, 0.88), ("no-tta", 1, 0.87)]  # fmt: skip
    section = read_section(out, "gap-analysis")
    assert "2 run(s) per side (seeds 0, 1)" in section
    assert ": recipe, no-tta, no-lookahead seed(s) 0)" in section
    rows = {line.split(" | ")[0].strip("| "): line for line in section.splitlines()}
    assert rows["recipe"].endswith("| 2 | 87.00 ± 1.41 [86.00, 88.00] | +0.00 ± 0.00 | 4.00 ± 0.00 [4.00, 4.00] |")
    assert rows["no-tta"].endswith("| 2 | 86.00 ± 1.41 [85.00, 87.00] | -1.00 ± 0.00 | 4.00 ± 0.00 [4.00, 4.00] |")
    assert rows["no-lookahead"].endswith("| 1 | 80.00 | -6.00 | 4.00 |")

    # A row added later for a seed the others already have: only no-lookahead's seed 1 is trained
    trained["fast_cpu no-lookahead"] = 0.84
    argv[argv.index("recipe") : argv.index("no-tta") + 1] = ["no-lookahead"]
    script.main()
    assert [(n, r.seed) for n, r in script.saved_ablation_runs(tmp_path)][-1] == ("no-lookahead", 1)
    section = read_section(out, "gap-analysis")
    assert ": recipe, no-tta seed(s) 0, 1; no-lookahead seed(s) 0)" in section
    rows = {line.split(" | ")[0].strip("| "): line for line in section.splitlines()}
    assert rows["no-lookahead"].endswith(
        "| 2 | 82.00 ± 2.83 [80.00, 84.00] | -5.00 ± 1.41 | 4.00 ± 0.00 [4.00, 4.00] |"
    )


def test_paired_change_compares_each_seed_with_the_same_seeds_baseline_only() -> None:
    from benchmarks.ablation_report import paired_change

    baseline = {0: 0.870, 1: 0.860, 2: 0.875}
    finals = {0: 0.880, 1: 0.865, 3: 0.99}  # seed 3 has no baseline: left out
    differences = np.array([0.880 - 0.870, 0.865 - 0.860]) * 100
    assert paired_change(finals, baseline) == f"{differences.mean():+.2f} ± {differences.std(ddof=1):.2f}"
    assert paired_change({2: 0.865}, baseline) == "-1.00"
    assert paired_change({5: 0.9}, baseline) == "–"
