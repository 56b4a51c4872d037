"""A `fit` that dies before its first training step leaves no run folder behind; a later failure keeps it."""

from pathlib import Path

import lightning as L
import pytest

from conftest import fast_synthetic_args
from litlab.command.cli import build_cli


class FailAtStep(L.Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer: L.Trainer, *args: object) -> None:
        if trainer.global_step == self.step:
            raise RuntimeError(f"failing at step {self.step}")


def fit_failing_at(step: int, logs: Path, extra: list[str] = ()) -> None:
    cli = build_cli([*fast_synthetic_args(logs), *extra], run=False)
    cli.trainer.callbacks.append(FailAtStep(step))
    with pytest.raises(RuntimeError, match=f"failing at step {step}"):
        cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=cli.config.get("ckpt_path"))


def test_failure_before_step_one_removes_the_new_run_folder(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    fit_failing_at(0, tmp_path)
    assert list((tmp_path / "synthetic_mlp").rglob("*")) == []
    assert "failed before its first training step" in caplog.text


def test_failure_after_training_began_keeps_the_run(tmp_path: Path) -> None:
    fit_failing_at(3, tmp_path)
    (run,) = (tmp_path / "synthetic_mlp").glob("version_*")
    assert (run / "config.yaml").is_file() and any(run.glob("events.out.tfevents.*"))


def test_an_existing_run_folder_is_never_removed(tmp_path: Path) -> None:
    run = tmp_path / "synthetic_mlp" / "version_0"
    run.mkdir(parents=True)
    (run / "notes.txt").write_text("mine")
    fit_failing_at(0, tmp_path, ["--trainer.logger.init_args.version", "version_0"])
    assert (run / "notes.txt").read_text() == "mine"
