"""`scripts/report.py` / `litlab.reporting` on a log folder with finished, tested, crashed, broken and empty runs.

The runs are written with TensorBoard's SummaryWriter and LightningCLI-shaped config.yaml files, so every
number in the report is known in advance. The report of a real `litlab fit` + `litlab test` pair is
checked in test_dashboards.py, which trains one anyway.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from tensorboard.plugins.hparams import api_pb2
from torch.utils.tensorboard import SummaryWriter

from conftest import CONFIGS, REPO, table
from litlab.callbacks.hparams import session_end_summary
from litlab.reporting import NoRunsFound, find_runs, write_report

STEPS_PER_EPOCH = 10


def write_run(
    folder: Path,
    val_acc: list[float],
    max_epochs: int,
    lr: float = 0.001,
    finished: bool = True,
    ckpt_path: str | None = None,
    scalars: dict[str, float] | None = None,
    scheduler: bool = True,
) -> None:
    """A run folder as `litlab fit` leaves it: config.yaml plus per-epoch scalars (and the end record)."""
    folder.mkdir(parents=True)
    config = yaml.safe_load((CONFIGS / "synthetic_mlp.yaml").read_text())
    config["trainer"]["max_epochs"] = max_epochs
    config["model"]["init_args"]["optimizer"]["init_args"]["lr"] = lr
    config["ckpt_path"] = ckpt_path
    if not scheduler:
        del config["model"]["init_args"]["scheduler"]
    if not val_acc:
        config["verbose"] = True  # what LightningCLI saves for `litlab test`
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    with SummaryWriter(log_dir=str(folder)) as writer:
        for epoch, acc in enumerate(val_acc):
            step = (epoch + 1) * STEPS_PER_EPOCH - 1
            for i in range(STEPS_PER_EPOCH):
                writer.add_scalar("train/loss", 2.0 - acc + 0.01 * i, epoch * STEPS_PER_EPOCH + i)
            writer.add_scalar("val/acc", acc, step)
            writer.add_scalar("val/loss", 2.0 - acc, step)
            writer.add_scalar("time/epoch_s", 2.0, step)
            writer.add_scalar("time/train_images_per_s", 1000.0 * (epoch + 1), step)
        for tag, value in (scalars or {}).items():
            writer.add_scalar(tag, value, 0)
        if finished:
            writer._get_file_writer().add_summary(session_end_summary(api_pb2.STATUS_SUCCESS))


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    logs = tmp_path / "logs"
    write_run(logs / "mlp" / "version_0", [0.5, 0.7, 0.8], max_epochs=3, lr=0.01, scheduler=False)
    write_run(logs / "mlp" / "version_1", [0.6, 0.9, 0.85], max_epochs=3)
    with SummaryWriter(log_dir=str(logs / "mlp" / "version_1")) as writer:  # an earlier test, a day later
        writer.add_scalar("test/acc", 0.5, 29, walltime=time.time() + 86400)
    # `litlab test` of version_1's checkpoint, typed as a relative path from the project folder
    write_run(
        logs / "mlp" / "version_2",
        [],
        max_epochs=3,
        ckpt_path="logs/mlp/version_1/checkpoints/last.ckpt",
        scalars={"test/acc": 0.88, "test/f1": 0.87, "test/loss": 0.4},
    )
    write_run(logs / "mlp" / "version_3", [0.3], max_epochs=3, finished=False)  # killed during epoch 2
    events = next((logs / "mlp" / "version_3").glob("events.*"))
    events.write_bytes(events.read_bytes()[:-7])  # and its last record cut short
    (logs / "mlp" / "version_4").mkdir()  # created, then crashed before logging
    (logs / "mlp" / "version_4" / "config.yaml").write_text((logs / "mlp" / "version_0" / "config.yaml").read_text())
    (logs / "scratch").mkdir()
    return logs


def test_report_rows(logs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(logs.parent)
    markdown_path, figure_path = write_report(logs)
    rows = {row["run"].strip("`"): row for row in table(markdown_path.read_text())}
    assert list(rows) == ["mlp/version_1", "mlp/version_0", "mlp/version_3", "mlp/version_4"]  # best val acc first

    best = rows["mlp/version_1"]
    assert best["#"] == "1"
    assert best["status"] == "finished (tested in version_2)"
    assert (best["model"], best["optimizer"], best["lr"], best["batch"]) == ("MLP", "AdamW", "0.001", "128")
    assert (best["epochs"], best["best val acc"], best["best val loss"]) == ("3/3", "0.9000", "1.1000")
    assert (best["test acc"], best["test f1"], best["test loss"]) == ("0.8800", "0.8700", "0.4000")
    assert best["img/s"] == "2000"  # median of the per-epoch figures
    assert best["wall time"] == "0m 00s"  # the training, not until the day-later test
    assert rows["mlp/version_0"]["lr"] == "0.01" and rows["mlp/version_0"]["test acc"] == "–"
    assert (best["scheduler"], rows["mlp/version_0"]["scheduler"]) == ("CosineAnnealingLR", "–")

    crashed = rows["mlp/version_3"]
    assert (crashed["status"], crashed["epochs"], crashed["best val acc"]) == ("incomplete", "1/3", "0.3000")
    assert rows["mlp/version_4"]["status"] == "no events file"
    assert "`scratch`" in markdown_path.read_text()  # the empty folder is named, not counted

    curves = np.asarray(Image.open(figure_path).convert("RGB"))
    assert curves.shape[1] > 1000 and curves.std() > 10


def test_test_run_without_its_training_run_gets_its_own_row(logs: Path) -> None:
    runs, _ = find_runs(logs / "mlp" / "version_2")
    (run,) = runs
    assert run.status == "test only" and run.test_metric("test/acc") == pytest.approx(0.88)


def test_truncated_and_garbage_event_files_do_not_stop_the_report(logs: Path) -> None:
    (logs / "junk").mkdir()
    (logs / "junk" / "events.out.tfevents.1.host.1.0").write_bytes(os.urandom(4096))
    runs, empty = find_runs(logs)
    status = {run.name: run.status for run in runs}
    assert status["junk"] in ("no metrics", "unreadable events (DataLossError)")
    assert status["mlp/version_3"] == "incomplete"
    assert empty == [logs / "scratch"]


def test_no_runs(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoRunsFound, match="no runs under"):
        write_report(tmp_path)
    script = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "report.py"), "--logdir", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
    )
    assert script.returncode == 1
    assert "does not exist" in script.stderr and not (tmp_path / "missing").exists()


def test_script_writes_both_files(logs: Path) -> None:
    script = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "report.py"), "--logdir", str(logs)],
        capture_output=True,
        text=True,
        cwd=logs.parent,
    )
    assert script.returncode == 0, script.stderr
    assert (logs / "report.md").is_file() and (logs / "report.png").is_file()
    assert str(logs / "report.md") in script.stdout


def test_run_configs_read_as_pyyaml_reads_them_and_a_broken_one_is_named(tmp_path: Path) -> None:
    from litlab.runs.folders import is_training_run, read_yaml

    saved = tmp_path / "fit" / "config.yaml"
    saved.parent.mkdir()
    saved.write_text((CONFIGS / "synthetic_mlp.yaml").read_text() + "trainer:\n  max_epochs: 3\n  devices: [0, 1]\n")
    assert read_yaml(saved) == yaml.safe_load(saved.read_text())
    assert is_training_run(saved.parent) is True
    broken = tmp_path / "broken" / "config.yaml"
    broken.parent.mkdir()
    broken.write_text("trainer: {max_epochs: 3\n")
    with pytest.raises(yaml.YAMLError):
        read_yaml(broken)
    assert is_training_run(broken.parent) is None
