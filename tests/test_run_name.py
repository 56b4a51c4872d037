"""`--run_name` names a run readably (its folder, TensorBoard, `make report`), and `--ckpt_path last` finds it."""

from pathlib import Path

import pytest
import torch
import yaml

from conftest import fast_synthetic_args, table
from litlab.command.cli import build_cli
from litlab.command.errors import ConfigError
from litlab.reporting.render import write_report


def test_run_name_names_the_folder_the_report_and_the_resumed_run(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    args = [*fast_synthetic_args(logs, epochs=1), "--test_after_fit", "false", "--run_name", "sgd_lr0.1"]
    first = build_cli(["fit", *args, "--model.init_args.optimizer", "torch.optim.SGD"])
    run = logs / "sgd_lr0.1" / "version_0"
    assert Path(first.trainer.log_dir) == run
    assert yaml.safe_load((run / "config.yaml").read_text())["run_name"] == "sgd_lr0.1"
    assert not (logs / "synthetic_mlp").exists()

    saved = ["--config", str(run / "config.yaml")]
    resumed = build_cli(["fit", *saved, "--trainer.max_epochs", "2", "--ckpt_path", "last"])
    assert Path(resumed.trainer.log_dir) == run  # the saved name resumes into the same run
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 1
    assert [p.name for p in (logs / "sgd_lr0.1").iterdir()] == ["version_0"]

    markdown, _ = write_report(logs)
    (row,) = table(markdown.read_text())
    assert (row["run"], row["optimizer"]) == ("`sgd_lr0.1/version_0`", "SGD")


@pytest.mark.parametrize("name", ["../elsewhere", "two words", "-x"])
def test_a_run_name_that_is_no_folder_name_is_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--run_name"):
        build_cli(["fit", *fast_synthetic_args(tmp_path), f"--run_name={name}"])
