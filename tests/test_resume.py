"""Crash and resume: real `litlab` processes killed with SIGKILL, resumed with `--ckpt_path last`, compared bit for bit.

The demo config carries `StepSeeds`, so a resumed run must end with exactly the weights and metrics of the
run that was never interrupted (tolerance: none). Here the rolling mid-epoch checkpoint is written every
3 steps of 4-step epochs.
"""

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import CONFIGS, fast_synthetic_args
from litlab.command.cli import build_cli, resolved_config
from litlab.command.resume import main as resume_main
from litlab.runs.resume import stops_before_epoch_end

EPOCHS, STEPS_PER_EPOCH, STEP_CKPT_EVERY = 3, 4, 3
# For the kill tests: ~13 MB checkpoints, so that a write lasts long enough to be caught in the middle.
WIDE = ["--model.init_args.backbone.init_args.hidden_sizes", "[1024, 1024]"]


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> None:
    """Float sums depend on how many threads split them: every run here, in-process or not, uses one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """configs/synthetic_mlp.yaml with its rolling step checkpoint every 3 steps instead of 20, and without the
    best-epoch checkpoint, so that `last.ckpt` is the only file written at an epoch's end."""
    raw = resolved_config(["fit", "--config", str(CONFIGS / "synthetic_mlp.yaml")])
    callbacks = raw["trainer"]["callbacks"]
    [best] = [c for c in callbacks if c.get("init_args", {}).get("monitor")]
    callbacks.remove(best)
    [rolling] = [c for c in callbacks if c.get("init_args", {}).get("every_n_train_steps")]
    rolling["init_args"]["every_n_train_steps"] = STEP_CKPT_EVERY
    path = tmp_path_factory.mktemp("config") / "synthetic_mlp.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def run_args(config: Path, logs: Path, wide: bool = False) -> list[str]:
    """Fit only: the test that ends a fit would replace `trainer.ckpt_path`, the checkpoint fit resumed from."""
    args = [*fast_synthetic_args(logs, epochs=EPOCHS), "--test_after_fit", "false"]
    args[args.index("--config") + 1] = str(config)
    return [*args, *WIDE] if wide else args


@pytest.fixture(scope="module")
def reference(config: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The uninterrupted run: final weights, metrics and TensorBoard scalars, and how long it took."""
    start = time.perf_counter()
    cli = build_cli(["fit", *run_args(config, tmp_path_factory.mktemp("reference"), wide=True)])
    return {**outcome(cli), "seconds": time.perf_counter() - start}


def outcome(cli) -> dict:  # noqa: ANN001 - a LitlabCLI after fit
    run = Path(cli.trainer.log_dir)
    last = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    # Not compared: timings; train/acc of an epoch cut by a mid-epoch resume covers only the batches after it;
    # the learning rate, which LearningRateMonitor puts there at an epoch's start, a hook Lightning skips for an
    # epoch resumed in its middle (its TensorBoard scalars are compared instead).
    skip = ("time/", "train/acc", "train/lr")
    metrics = {k: v.item() for k, v in cli.trainer.callback_metrics.items() if not k.startswith(skip)}
    return {"run": run, "last": last, "metrics": metrics, "scalars": scalars(run)}


def scalars(run: Path) -> dict[str, dict[int, float]]:
    """Every scalar tag of the run folder (all its event files, as TensorBoard shows them), step -> value."""
    events = EventAccumulator(str(run), size_guidance={"scalars": 0})
    events.Reload()
    return {
        tag: {e.step: e.value for e in events.Scalars(tag)}
        for tag in events.Tags()["scalars"]
        if not tag.startswith("time/")  # wall-clock timings differ run to run
    }


def start(config: Path, logs: Path, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "litlab", "fit", *run_args(config, logs, wide=True), *extra]
    tests = str(Path(__file__).parent)  # test helpers given by class_path (conftest.KillAfterCheckpoint)
    path = os.pathsep.join(filter(None, [tests, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": path}  # threads: as the in-process runs
    return subprocess.Popen(command, cwd=logs, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_for(process: subprocess.Popen, folder: Path, seen: Callable[[list[str]], bool]) -> list[str]:
    """Poll `folder` (about every millisecond) until `seen(names in it)`; fail if the process ends first."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        names = [entry.name for entry in os.scandir(folder)] if folder.is_dir() else []
        if seen(names):
            return names
        if process.poll() is not None:
            pytest.fail(f"the run ended before the kill point:\n{process.stderr.read()[-2000:]}")
        time.sleep(0.001)
    process.kill()
    pytest.fail("the kill point never came")


def sigkill(process: subprocess.Popen) -> None:
    process.kill()  # SIGKILL: no handler, no cleanup, like a preempted node
    process.wait()


def assert_resumed_exactly(resumed: dict, reference: dict, run: Path) -> None:
    assert [p.name for p in run.parent.iterdir()] == ["version_0"], "resuming opened a new run folder"
    assert resumed["run"] == run
    assert resumed["last"]["global_step"] == reference["last"]["global_step"] == EPOCHS * STEPS_PER_EPOCH
    assert resumed["last"]["epoch"] == reference["last"]["epoch"] == EPOCHS - 1
    for key, tensor in reference["last"]["state_dict"].items():
        assert torch.equal(resumed["last"]["state_dict"][key], tensor), key
    assert resumed["metrics"] == reference["metrics"]
    for tag in ("train/loss", "val/acc", "val/loss", "train/lr", "epoch"):  # the steps continue, values identical
        assert resumed["scalars"][tag] == reference["scalars"][tag], tag
    assert not [p for p in (run / "checkpoints").iterdir() if p.name.startswith(".")], "a partial write was left"


@pytest.mark.slow  # a killed litlab process: CI runs it (.ci/run)
def test_killed_while_writing_a_checkpoint_resumes_exactly(config: Path, reference: dict, tmp_path: Path) -> None:
    """Killed while last.ckpt is written at the end of epoch 1 (step 8): the newest complete checkpoint is then
    the mid-epoch one of step 6, so the resume also has to pick up in the middle of an epoch."""
    run = tmp_path / "synthetic_mlp" / "version_0"
    process = start(config, tmp_path)
    # Checkpoints are written through a temp file ".<name>.tmp-<pid>" beside them.
    wait_for(
        process,
        run / "checkpoints",
        lambda names: "step0000006.ckpt" in names and any(n.startswith(".last") for n in names),
    )
    sigkill(process)
    cut = [p.name for p in (run / "checkpoints").iterdir() if ".tmp-" in p.name]  # empty if the write just finished
    config_before = (run / "config.yaml").read_text()
    for ckpt in (run / "checkpoints").glob("*.ckpt"):  # what is visible is complete: old or new, never half
        torch.load(ckpt, map_location="cpu", weights_only=True)

    with pytest.warns(UserWarning, match="cut short") if cut else contextlib.nullcontext():
        resumed = build_cli(["fit", *run_args(config, tmp_path, wide=True), "--ckpt_path", "last"])
    assert Path(resumed.trainer.ckpt_path).name == ("step0000006.ckpt" if cut else "last.ckpt")
    assert_resumed_exactly(outcome(resumed), reference, run)
    assert (run / "config.yaml").read_text() == config_before  # the saved config still describes the experiment


@pytest.mark.slow  # a killed litlab process: CI runs it (.ci/run)
def test_killed_between_an_epochs_last_batch_and_its_end_resumes_exactly(
    config: Path, reference: dict, tmp_path: Path
) -> None:
    """The step checkpoint at the last batch of epoch 3 is on disk, that epoch's end (validation, last.ckpt) is
    not. Lightning would resume it as a finished epoch; `--ckpt_path last` takes the end of epoch 2 instead."""
    first = build_cli(["fit", *run_args(config, tmp_path, wide=True), "--trainer.max_epochs", "2"])
    checkpoints = Path(first.trainer.log_dir) / "checkpoints"
    end_of_epoch_2 = (checkpoints / "last.ckpt").read_bytes()
    build_cli(["fit", *run_args(config, tmp_path, wide=True), "--ckpt_path", "last"])
    (checkpoints / "last.ckpt").write_bytes(end_of_epoch_2)  # as if killed before epoch 3's end was saved
    cut = torch.load(checkpoints / "step0000012.ckpt", weights_only=True)
    assert stops_before_epoch_end(cut) and not stops_before_epoch_end(torch.load(checkpoints / "last.ckpt"))

    resumed = build_cli(["fit", *run_args(config, tmp_path, wide=True), "--ckpt_path", "last"])
    assert Path(resumed.trainer.ckpt_path).name == "last.ckpt"
    assert_resumed_exactly(outcome(resumed), reference, Path(first.trainer.log_dir))


@pytest.mark.slow  # a killed litlab process: CI runs it (.ci/run)
def test_a_cut_epoch_end_as_the_only_checkpoint_starts_over_exactly(
    config: Path, reference: dict, tmp_path: Path
) -> None:
    """Only a step checkpoint written between an epoch's last batch and its end is left (as when the kill comes
    before the first epoch has ended): resuming it would skip that epoch's validation and end, so training
    starts over in the same run, and ends exactly as the uninterrupted run."""
    first = build_cli(["fit", *run_args(config, tmp_path, wide=True)])
    run = Path(first.trainer.log_dir)
    (run / "checkpoints" / "last.ckpt").unlink()
    [cut] = (run / "checkpoints").iterdir()
    assert stops_before_epoch_end(torch.load(cut, weights_only=True)), cut.name

    with pytest.warns(UserWarning, match="no checkpoint to continue from; training it again from the start"):
        resumed = build_cli(["fit", *run_args(config, tmp_path, wide=True), "--ckpt_path", "last"])
    assert resumed.trainer.ckpt_path is None
    assert_resumed_exactly(outcome(resumed), reference, run)


def test_unreadable_last_checkpoint_falls_back_to_the_newest_readable_one(config: Path, tmp_path: Path) -> None:
    first = build_cli(["fit", *run_args(config, tmp_path), "--trainer.max_epochs", "2"])
    run = Path(first.trainer.log_dir)
    last = run / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])  # a truncated file, as a full disk leaves

    with pytest.warns(UserWarning, match=r"last\.ckpt is not a readable checkpoint"):
        resumed = build_cli(["fit", *run_args(config, tmp_path), "--ckpt_path", "last"])
    assert Path(resumed.trainer.log_dir) == run
    assert resumed.trainer.ckpt_path != str(last)  # it went on from another checkpoint of the same run
    assert resumed.trainer.global_step == EPOCHS * STEPS_PER_EPOCH and resumed.trainer.current_epoch == EPOCHS


def test_last_without_an_earlier_run_starts_one(config: Path, tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="no earlier run"):
        cli = build_cli(["fit", *run_args(config, tmp_path), "--trainer.max_epochs", "1", "--ckpt_path", "last"])
    assert Path(cli.trainer.log_dir) == tmp_path / "synthetic_mlp" / "version_0"
    assert cli.trainer.global_step == STEPS_PER_EPOCH


@pytest.mark.slow  # fit and test as litlab processes: CI runs it (.ci/run)
def test_last_passes_over_the_folders_of_test_runs(config: Path, tmp_path: Path) -> None:
    fit = build_cli(["fit", *run_args(config, tmp_path), "--trainer.max_epochs", "1"])  # version_0
    last = Path(fit.trainer.log_dir) / "checkpoints" / "last.ckpt"
    build_cli(["test", *run_args(config, tmp_path), "--ckpt_path", str(last)])  # version_1, same experiment
    resumed = build_cli(["fit", *run_args(config, tmp_path), "--trainer.max_epochs", "2", "--ckpt_path", "last"])
    assert Path(resumed.trainer.log_dir) == Path(fit.trainer.log_dir)
    assert resumed.trainer.ckpt_path == str(last) and resumed.trainer.current_epoch == 2


def test_make_resume_continues_the_most_recently_written_run(config: Path, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    build_cli(["fit", *run_args(config, logs), "--trainer.max_epochs", "1"])  # version_0
    second = build_cli(["fit", *run_args(config, logs), "--trainer.max_epochs", "1"])  # version_1
    older = logs / "synthetic_mlp" / "version_0"
    for path in older.rglob("*"):  # make version_0 the one written last, although version_1 is newer by number
        os.utime(path, (time.time() + 60, time.time() + 60))

    resume_main(["--logs", str(logs), "--trainer.max_epochs", "2"])
    assert torch.load(older / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 1
    assert torch.load(Path(second.trainer.log_dir) / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 0
    assert sorted(p.name for p in (logs / "synthetic_mlp").iterdir()) == ["version_0", "version_1"]


@pytest.mark.slow
@pytest.mark.parametrize("kills", [3], ids=["3-random-kills"])
def test_killed_again_and_again_at_random_moments_ends_like_the_uninterrupted_run(
    config: Path, reference: dict, tmp_path: Path, kills: int
) -> None:
    """Each attempt is killed at a random moment after training starts (mid-epoch, in validation, while
    writing); the next attempt is the one resume command. The last attempt runs to the end.

    The moments scale with this machine's speed: each attempt is killed within the first 30% of the time the
    uninterrupted run took, so that three kills stay inside the run however fast the machine is."""
    run = tmp_path / "synthetic_mlp" / "version_0"
    rng = random.Random(0)
    for attempt in range(kills):
        process = start(config, tmp_path, *(["--ckpt_path", "last"] if attempt else []))
        own_events = f".{process.pid}."  # this process's TensorBoard file: it has started training
        wait_for(process, run, lambda names, own=own_events: any(n.startswith("events") and own in n for n in names))
        time.sleep(rng.uniform(0.0, 0.3) * reference["seconds"])
        assert process.poll() is None, f"attempt {attempt + 1} finished before its kill; the test needs a longer run"
        sigkill(process)
    final = build_cli(["fit", *run_args(config, tmp_path, wide=True), "--ckpt_path", "last"])
    assert_resumed_exactly(outcome(final), reference, run)


@pytest.mark.slow  # a killed litlab process: CI runs it (.ci/run)
def test_what_was_logged_before_a_checkpoint_survives_a_kill_after_it(
    config: Path, reference: dict, tmp_path: Path
) -> None:
    """Killed right after step 6's checkpoint: the resumed run starts at step 6 and never logs steps 0-5 again, so
    their scalars must already be on disk (Lightning's TensorBoard logger flushes after every write of metrics)."""
    run = tmp_path / "synthetic_mlp" / "version_0"
    process = start(config, tmp_path, "--trainer.callbacks+=conftest.KillAfterCheckpoint",
                    "--trainer.callbacks.init_args.step", str(2 * STEP_CKPT_EVERY))  # fmt: skip
    process.wait()
    assert process.returncode == -signal.SIGKILL, process.stderr.read()[-2000:]
    assert (run / "checkpoints" / f"step{2 * STEP_CKPT_EVERY:07d}.ckpt").is_file()
    resumed = build_cli(["fit", *run_args(config, tmp_path, wide=True), "--ckpt_path", "last"])
    assert Path(resumed.trainer.ckpt_path).name == f"step{2 * STEP_CKPT_EVERY:07d}.ckpt"
    assert_resumed_exactly(outcome(resumed), reference, run)


def regression_args(logs: Path, epochs: int) -> list[str]:
    """configs/synthetic_regression.yaml (ReduceLROnPlateau on val/loss) on a few hundred samples; patience 0,
    so that the learning rate is cut whenever val/loss does not improve and a lost plateau step shows in the
    weights."""
    return [
        "fit", "--config", str(CONFIGS / "synthetic_regression.yaml"),
        "--trainer.logger.init_args.save_dir", str(logs), "--trainer.max_epochs", str(epochs),
        "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
        "--data.init_args.sizes", "[512, 256, 256]", "--model.init_args.scheduler.init_args.patience", "0",
        "--model.init_args.optimizer.init_args.lr", "0.03", "--test_after_fit", "false",
    ]  # fmt: skip


def test_plateau_schedule_and_best_checkpoint_resume_exactly_from_an_epoch_end(tmp_path: Path) -> None:
    """Killed right after an epoch's last.ckpt (here: stopped by max_epochs, the same file on disk), resumed to
    the end: the plateau scheduler, learning rate, weights and the best-epoch checkpoint's record equal the
    uninterrupted run's. Lightning used to write last.ckpt before that epoch's plateau step and then skip it."""
    reference = build_cli(regression_args(tmp_path / "reference", 8))
    build_cli(regression_args(tmp_path / "resumed", 4))
    resumed = build_cli([*regression_args(tmp_path / "resumed", 8), "--ckpt_path", "last"])
    ends = [
        torch.load(Path(c.trainer.log_dir) / "checkpoints" / "last.ckpt", weights_only=True)
        for c in (reference, resumed)
    ]
    lrs = [[g["lr"] for g in end["optimizer_states"][0]["param_groups"]] for end in ends]
    assert len(set(map(tuple, lrs))) == 1 and lrs[0][0] < 0.03, "the schedule must have cut the LR"
    assert ends[0]["lr_schedulers"] == ends[1]["lr_schedulers"]
    assert ends[0]["epoch"] == ends[1]["epoch"] == 7
    for key, tensor in ends[0]["state_dict"].items():
        assert torch.equal(ends[1]["state_dict"][key], tensor), key
    best = [
        next(state for name, state in end["callbacks"].items() if "val/loss" in name)["best_model_path"] for end in ends
    ]
    assert Path(best[0]).name == Path(best[1]).name and Path(best[1]).is_file()
