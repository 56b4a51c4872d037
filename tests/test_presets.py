"""Each preset in configs/presets runs stacked on an experiment with a second --config, and does its job."""

import csv
import importlib.util
import re
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import CONFIGS, fast_synthetic_args, http, tensorboard_serving, wait_until
from litlab.callbacks import EMAWeights
from litlab.command.cli import LitlabCLI, build_cli

PRESETS = CONFIGS / "presets"


def fit_with(tmp_path: Path, preset: str, *extra: str) -> LitlabCLI:
    args = ["fit", *fast_synthetic_args(tmp_path / "logs", epochs=3), "--config", str(PRESETS / preset), *extra]
    return build_cli(args)


def tensorboard_values(run: Path, tag: str) -> list[float]:
    events = EventAccumulator(str(run), size_guidance={"scalars": 0})
    events.Reload()
    return [event.value for event in events.Scalars(tag)]


def test_early_stopping_watches_val_loss(in_tmp: Path) -> None:
    cli = fit_with(in_tmp, "early_stopping.yaml")
    stopper = cli.trainer.early_stopping_callback
    assert stopper is not None and stopper.monitor == "val/loss"
    assert len(cli.trainer.checkpoint_callbacks) == 3  # appended: the experiment's callbacks are all still there
    (run,) = (in_tmp / "logs" / "synthetic_mlp").iterdir()
    assert stopper.best_score.item() == pytest.approx(min(tensorboard_values(run, "val/loss")), rel=1e-6)


def test_ema_leaves_the_averaged_weights_in_the_model(in_tmp: Path) -> None:
    cli = fit_with(in_tmp, "ema.yaml", "--test_after_fit", "false")
    (ema,) = [c for c in cli.trainer.callbacks if isinstance(c, EMAWeights)]
    average = ema._average_model  # noqa: SLF001 - Lightning's averaged copy
    assert int(average.n_averaged) == cli.trainer.global_step  # updated after every optimizer step
    for name, value in cli.model.backbone.state_dict().items():
        torch.testing.assert_close(value, average.module.backbone.state_dict()[name])


def test_overfit_batches_drives_the_loss_to_zero(in_tmp: Path) -> None:
    cli = fit_with(in_tmp, "overfit_batches.yaml", "--model.init_args.scheduler", "null", "--trainer.max_epochs", "40",
                   "--model.init_args.optimizer.init_args.lr", "0.003", "--trainer.callbacks", "[]")  # fmt: skip
    assert cli.trainer.overfit_batches == 2 and cli.trainer.num_training_batches == 2
    assert cli.trainer.callback_metrics["train/loss"] < 0.05
    assert not (in_tmp / "logs" / "synthetic_mlp" / "version_0" / "test_metrics.json").exists()


def test_profiler_writes_a_trace_into_the_run(in_tmp: Path) -> None:
    fit_with(in_tmp, "profiler.yaml")
    (run,) = (in_tmp / "logs" / "synthetic_mlp").iterdir()
    traces = list(run.rglob("*.pt.trace.json"))
    assert traces and traces[0].stat().st_size > 1000


@pytest.mark.slow  # tensorboard starts and the plugin parses the trace: about 30 s
@pytest.mark.skipif(importlib.util.find_spec("torch_tb_profiler") is None, reason="torch-tb-profiler not installed")
def test_tensorboards_profiler_plugin_lists_the_run_and_its_trace(in_tmp: Path) -> None:
    """A real `tensorboard --logdir logs` with torch-tb-profiler (the `profiler` extra): its PyTorch Profiler tab
    lists the training run, reads its traces (one per profiled step kind) and offers the trace view. Batches of
    16, so training has the steps the profiler's schedule skips and warms up on before it records."""
    fit_with(in_tmp, "profiler.yaml", "--data.init_args.batch_size", "16")
    (run,) = (in_tmp / "logs" / "synthetic_mlp").iterdir()

    def loaded(api: str) -> dict | None:
        runs = http(f"{api}/runs")
        return runs if runs["runs"] and not runs["loading"] else None

    with tensorboard_serving(in_tmp / "logs") as url:
        api = f"{url}/data/plugin/pytorch_profiler"
        listed = wait_until(lambda: loaded(api), 120, "the profiler plugin to load the run")
        assert listed["runs"] == [f"synthetic_mlp/{run.name}"]  # the run's own folder, as TensorBoard names it
        name = listed["runs"][0]
        assert "Trace" in http(f"{api}/views?run={name}")
        workers = http(f"{api}/workers?run={name}&view=Overview")
    traces = [re.sub(r"(\.\d+)?\.pt\.trace\.json$", "", t.name) for t in run.glob("*.pt.trace.json")]
    assert len(traces) == 2 and sorted(workers) == sorted(traces)  # training_step and validation_step


def test_csv_logger_records_what_tensorboard_records(in_tmp: Path) -> None:
    cli = fit_with(in_tmp, "csv_logger.yaml", "--test_after_fit", "false")
    assert [type(logger).__name__ for logger in cli.trainer.loggers] == ["RunTensorBoardLogger", "CSVLogger"]
    (run,) = (in_tmp / "logs" / "synthetic_mlp").iterdir()
    assert (run / "checkpoints" / "last.ckpt").is_file()  # checkpoints stay with the first logger's run
    with (in_tmp / "logs" / "csv" / "version_0" / "metrics.csv").open() as file:
        rows = [row for row in csv.DictReader(file) if row.get("val/acc")]
    assert [float(row["val/acc"]) for row in rows] == pytest.approx(tensorboard_values(run, "val/acc"))


@pytest.mark.slow  # MLflow sets up its database: about 20 s
@pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="mlflow is not installed (the mlflow extra)")
def test_mlflow_logs_to_a_local_file(in_tmp: Path) -> None:
    from mlflow.tracking import MlflowClient

    cli = fit_with(in_tmp, "mlflow.yaml", "--test_after_fit", "false")
    (run,) = (in_tmp / "logs" / "synthetic_mlp").iterdir()
    assert (in_tmp / "mlflow.db").is_file()
    client = MlflowClient(tracking_uri="sqlite:///mlflow.db")
    history = client.get_metric_history(cli.trainer.loggers[1].run_id, "val/acc")
    assert [m.value for m in sorted(history, key=lambda m: m.step)] == pytest.approx(tensorboard_values(run, "val/acc"))
