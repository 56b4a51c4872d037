"""Nothing from the environment ends up in a run's files, and a checkpoint cannot run code when it is loaded."""

from pathlib import Path

import pytest
import torch

from conftest import REPO, fast_synthetic_args
from litlab.command.cli import build_cli, main

SECRET = "litlab-test-secret-4f9c2e7a"


def test_environment_values_are_neither_parsed_nor_recorded(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LITLAB_SECRET_TOKEN", SECRET)
    monkeypatch.setenv("PL_FIT__TRAINER__MAX_EPOCHS", "5")  # would be read if LightningCLI's default_env were on
    cli = build_cli(["fit", *fast_synthetic_args(tmp_path, epochs=1)])
    assert cli.trainer.max_epochs == 1
    run = Path(cli.trainer.log_dir)
    files = [p for p in run.rglob("*") if p.is_file()]
    assert {"config.yaml", "hparams.yaml", "last.ckpt"} <= {p.name for p in files}
    assert any(p.name.startswith("events.out.tfevents") for p in files)
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path


class Payload:
    """Unpickling this runs `open(marker, "w")`: what a malicious checkpoint would do with a real command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (open, (str(self.marker), "w"))


def test_a_checkpoint_with_code_in_it_is_refused_without_running_it(tmp_path: Path, capsys) -> None:
    marker = tmp_path / "code-ran"
    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {"payload": Payload(marker)}}, evil)

    with pytest.raises(SystemExit) as exit_info:
        main(["test", *fast_synthetic_args(tmp_path), "--ckpt_path", str(evil)])
    assert exit_info.value.code == 2
    assert str(evil) in capsys.readouterr().err
    assert not marker.exists(), "loading the checkpoint ran code from it"


def test_tensorboard_is_served_on_localhost_only() -> None:
    [line] = [line for line in (REPO / "Makefile").read_text().splitlines() if "/tensorboard --logdir" in line]
    assert "--host 127.0.0.1" in line
