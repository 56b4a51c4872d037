"""The benchmark machinery measures what it claims: interleaving and summaries, the shared results file,
the hand-written loop being the same computation as litlab's, and the peak-memory child processes."""

import copy
import itertools
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from benchmarks import loops, memory
from benchmarks.results import TITLE, environment_markdown, markdown_table, read_section, write_section
from benchmarks.timing import Summary, difference, interleave, ratio
from benchmarks.workload import Replay, Workload, seconds_per_step

from conftest import CONFIGS, write_image_folder
from litlab.command.cli import resolved_config

CONFIG = CONFIGS / "synthetic_mlp.yaml"


def test_interleave_alternates_and_collects_per_variant() -> None:
    calls: list[str] = []
    fake = {"a": iter([3.0, 1.0, 2.0]), "b": iter([10.0, 30.0, 20.0])}

    def variant(name: str):  # noqa: ANN202
        def measure() -> float:
            calls.append(name)
            return next(fake[name])

        return measure

    results = interleave({"a": variant("a"), "b": variant("b")}, runs=3)

    assert calls == ["a", "b", "a", "b", "a", "b"]
    assert results == {"a": [3.0, 1.0, 2.0], "b": [10.0, 30.0, 20.0]}


def test_summary_ratio_and_difference_on_known_values() -> None:
    a, b = [3.0, 1.0, 2.0, 100.0], [1.5, 1.0, 0.5, 50.0]

    summary = Summary.of(a)
    assert (summary.median, summary.low, summary.high, summary.runs) == (2.5, 1.0, 100.0, 4)
    assert Summary.of([4.0, 1.0, 2.0]).median == 2.0
    # ratios are taken per round (side-by-side runs), then summarised: 2, 1, 4, 2
    assert ratio(a, b) == Summary(2.0, 1.0, 4.0, 4)
    assert difference(a, b) == Summary(1.5, 0.0, 50.0, 4)  # 1.5, 0, 1.5, 50
    assert Summary.of([0.001, 0.002, 0.003]).scaled(1e3).format(1) == "2.0 [1.0, 3.0]"
    with pytest.raises(ValueError):
        ratio([1.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        Summary.of([])


def test_write_section_replaces_only_its_own_section(tmp_path: Path) -> None:
    results = tmp_path / "benchmarks" / "RESULTS.md"

    write_section(results, "overhead", "first overhead table")
    write_section(results, "data", "data table")
    with results.open("a") as file:
        file.write("\nA note written by hand.\n")
    write_section(results, "overhead", "second overhead table\nwith two lines")

    text = results.read_text()
    assert text.startswith(TITLE)
    assert "first overhead table" not in text
    assert text.count("<!-- bench:overhead -->") == 1 and text.count("<!-- /bench:overhead -->") == 1
    assert read_section(results, "overhead") == "second overhead table\nwith two lines"
    assert read_section(results, "data") == "data table"
    assert text.index("bench:overhead") < text.index("bench:data")  # a rewritten section keeps its place
    assert "A note written by hand." in text
    assert read_section(results, "memory") is None
    with pytest.raises(ValueError):
        write_section(results, "Bad Name", "x")


def test_markdown_table_aligns_columns() -> None:
    table = markdown_table(["name", "what", "ms"], [["a", "x y", "1.0"]], align="llr")

    assert table.splitlines() == ["| name | what | ms |", "| :-- | :-- | --: |", "| a | x y | 1.0 |"]
    assert markdown_table(["n", "v"], []).splitlines()[1] == "| :-- | --: |"
    with pytest.raises(ValueError):
        markdown_table(["n", "v"], [], align="l")


def test_environment_names_hardware_and_versions() -> None:
    text = environment_markdown()
    for expected in ("CPU:", "GPU:", "Python", f"torch {torch.__version__}", "lightning", "torchmetrics", "litlab"):
        assert expected in text


def test_hand_written_loop_matches_litlab_loop(tmp_path: Path) -> None:
    """Same init, batches, optimizer (AdamW) and per-epoch scheduler (cosine) give the same parameters.

    Tolerance: rtol 1e-5, atol 1e-6 (float32; both loops run the same ops in the same order on CPU).
    """
    backbone = {"class_path": "litlab.models.MLP", "init_args": {"hidden_sizes": [16], "dropout": 0.0}}
    workload = Workload(CONFIG, backbone, (8,), 4, batch_size=16, steps=5, epochs=3)
    batches = workload.batches()
    cli = loops.build_litlab(workload, tmp_path)
    by_hand = copy.deepcopy(cli.model.backbone)
    initial = copy.deepcopy(by_hand.state_dict())

    cli.trainer.fit(cli.model, train_dataloaders=Replay(batches))
    loops.train_by_hand(by_hand, batches, workload)

    assert cli.trainer.global_step == workload.total_steps
    trained = cli.model.backbone.state_dict()
    for name, value in by_hand.state_dict().items():
        torch.testing.assert_close(value, trained[name], rtol=1e-5, atol=1e-6, msg=name)
        assert not torch.equal(value, initial[name]), f"{name} did not train"


def test_every_loop_variant_reports_one_time_per_epoch() -> None:
    backbone = {"class_path": "litlab.models.MLP", "init_args": {"hidden_sizes": []}}
    workload = Workload(CONFIG, backbone, (8,), 4, batch_size=16, steps=4, epochs=2)
    batches = workload.batches()

    for epoch_seconds in (
        loops.fit_barebones(workload.backbone_model(), batches, workload),
        loops.fit_barebones(workload.backbone_model(), batches, workload, inert_callbacks=3),
        loops.fit_lightning_defaults(workload.backbone_model(), batches, workload),
        loops.fit_litlab(batches, workload, loops.without_callbacks),
        loops.train_by_hand(workload.backbone_model(), itertools.cycle(batches), workload),
    ):
        assert len(epoch_seconds) == 2 and all(seconds > 0 for seconds in epoch_seconds)
    assert seconds_per_step([9.0, 2.0, 4.0], steps=2) == 1.5  # the warm-up epoch is left out


def test_shipped_callback_count_is_the_configs_callbacks_plus_lightnings_own() -> None:
    """LightningCLI adds its SaveConfigCallback, and Lightning a ModelSummary unless the config lists one (litlab's
    defaults do); the "inert" variant copies this count."""
    workload = Workload(CONFIG, {"class_path": "litlab.models.MLP"}, (8,), 4, batch_size=16, steps=2)
    callbacks = resolved_config(["fit", "--config", str(CONFIG)])["trainer"]["callbacks"]
    lists_summary = any(c["class_path"].endswith("ModelSummary") for c in callbacks)

    assert loops.shipped_callback_count(workload) == len(callbacks) + 1 + (not lists_summary)


def test_keep_freed_memory_stops_page_faults_on_reallocation() -> None:
    """The same 64 MB allocated and freed 20 times: glibc's default mmaps it afresh each time."""
    code = (
        "import resource, sys\n"
        "from litlab.runtime.allocator import keep_freed_memory\n"
        "assert sys.argv[1] == 'default' or keep_freed_memory()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "for _ in range(20):\n"
        "    block = bytearray(64 * 2**20)\n"  # zero-filled: every page is touched
        "    del block\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)\n"
    )
    faults = {
        mode: int(subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True, check=True).stdout)
        for mode in ("default", "kept")
    }
    pages = 64 * 2**20 // 4096
    assert faults["default"] > 10 * pages  # fresh pages on every allocation
    assert faults["kept"] < 2 * pages  # faulted in once, then reused


@pytest.mark.slow  # child processes that allocate on purpose: CI runs it (.ci/run)
def test_memory_child_reports_its_own_peak_not_its_parents() -> None:
    ballast = bytearray(1500 * 2**20)
    ballast[:: 2**12] = b"\1" * len(ballast[:: 2**12])  # touch every page: the parent is now 1.5 GB larger
    run = memory.measure("hand", samples=500, steps=2, batch_size=50, threads=1, accelerator="cpu", configs=CONFIGS)
    del ballast

    assert run.train_peak_mb is not None and run.train_peak_mb > 100  # torch alone is larger than this
    assert run.setup_peak_mb > 100
    assert run.peak_rss_mb < 1500  # Linux's ru_maxrss of this child would include the parent's 1.5 GB
    assert run.cuda_peak_mb is None


@pytest.mark.slow
def test_memory_training_peak_grows_with_the_model_run() -> None:
    floor = memory.measure(
        "imports", samples=500, steps=2, batch_size=50, threads=1, accelerator="cpu", configs=CONFIGS
    )
    run = memory.measure("litlab", samples=500, steps=2, batch_size=50, threads=1, accelerator="cpu", configs=CONFIGS)

    assert floor.train_peak_mb is None and run.train_peak_mb is not None
    assert 50 < floor.peak_rss_mb < run.peak_rss_mb


@pytest.mark.slow
def test_memory_fast_cpu_variant_trains_the_shipped_recipe_on_an_image_folder(tmp_path: Path) -> None:
    # 1,290 val images: the recipe validates on a fifth of the val batches (of 256), and needs at least one
    root = write_image_folder(tmp_path / "images", {"train": 30, "val": 430}, size=32)
    floor = memory.measure("imports", samples=0, steps=1, batch_size=1, threads=1, accelerator="cpu", configs=CONFIGS)
    run = memory.measure(
        "fast_cpu", samples=0, steps=1, batch_size=1, threads=1, accelerator="cpu", image_root=root, configs=CONFIGS
    )
    assert run.train_peak_mb is not None  # the child reached the start of training
    assert run.peak_rss_mb > floor.peak_rss_mb
    with pytest.raises(ValueError, match="image_root"):
        memory.measure("fast_cpu", samples=0, steps=1, batch_size=1, threads=1, accelerator="cpu", configs=CONFIGS)
