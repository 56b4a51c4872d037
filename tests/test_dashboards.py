"""The TensorBoard dashboards and test-end files, read back from a real `litlab fit` + `litlab test` run."""

import csv
import functools
import io
import json
from pathlib import Path

import lightning as L
import numpy as np
import pytest
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from PIL import Image
from tensorboard import context as tb_context
from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins import base_plugin
from tensorboard.plugins.hparams import api_pb2, backend_context, list_session_groups, metadata
from tensorboard.util import tensor_util

from conftest import accumulator, fit_and_test, table
from litlab import callbacks
from litlab.data import SyntheticClassificationData
from litlab.models import MLP
from litlab.reporting import write_report
from litlab.tasks import ClassificationTask

NUM_CLASSES, TRAIN, TEST = 10, 512, 256
CLASSES = [f"class_{i}" for i in range(NUM_CLASSES)]


def last(events: EventAccumulator, tag: str) -> float:
    return events.Scalars(tag)[-1].value


def png(encoded: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(encoded)).convert("RGB"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("dashboards")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        fit_dir, test_dir = fit_and_test(root / "logs")
    return {"root": root / "logs", "fit": fit_dir, "test": test_dir, "fit_events": accumulator(fit_dir)}


@pytest.fixture(scope="module")
def test_events(runs: dict) -> EventAccumulator:
    return accumulator(runs["test"])


def test_fit_scalars_time_and_throughput(runs: dict) -> None:
    events = runs["fit_events"]
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "train/acc", "val/acc", "val/acc_best", "val/f1", "train/lr"} <= tags
    assert "hp_metric" not in tags
    epoch_s, train_s, rate = (events.Scalars(f"time/{name}") for name in ("epoch_s", "train_s", "train_images_per_s"))
    assert len(epoch_s) == len(train_s) == len(rate) == 2  # once per epoch
    for total, train, images_per_s in zip(epoch_s, train_s, rate, strict=True):
        assert 0 < train.value <= total.value  # validation time is excluded from training time
        assert images_per_s.value == pytest.approx(TRAIN / train.value, rel=1e-3)  # every training sample counted


def test_fit_images(runs: dict) -> None:
    events = runs["fit_events"]
    samples = events.Images("train/samples")
    assert len(samples) == 1 and samples[0].step == 0
    assert png(samples[0].encoded_image_string).std() > 10  # pictures, not a blank canvas
    confusion = events.Images("val/confusion_matrix")
    assert len(confusion) == 2  # one per validation epoch, none for the sanity check
    assert confusion[0].step < confusion[1].step
    assert all(png(image.encoded_image_string).shape[0] > 400 for image in confusion)


def test_test_images(test_events: EventAccumulator) -> None:
    tags = ("test/confusion_matrix", "test/per_class", "test/worst_misclassified", "test/roc_curves")
    for tag in (*tags, "test/reliability_diagram"):
        images = test_events.Images(tag)
        assert len(images) == 2  # the test that ends `fit`, then `litlab test`
        assert all(png(image.encoded_image_string).std() > 10 for image in images)


def test_per_class_scalars_agree_with_macro_metrics(test_events: EventAccumulator) -> None:
    per_class = {
        metric: [last(test_events, f"test/{metric}_per_class/{name}") for name in CLASSES]
        for metric in ("acc", "precision", "f1")
    }
    # Macro averages are the means of the per-class scores: the per-class accuracy is the class's recall.
    assert np.mean(per_class["acc"]) == pytest.approx(last(test_events, "test/recall"), abs=1e-5)
    assert np.mean(per_class["precision"]) == pytest.approx(last(test_events, "test/precision"), abs=1e-5)
    assert np.mean(per_class["f1"]) == pytest.approx(last(test_events, "test/f1"), abs=1e-5)
    assert len(set(per_class["acc"])) > 1  # really per class


def test_pr_curves(runs: dict, test_events: EventAccumulator) -> None:
    table = csv.DictReader((runs["test"] / "per_class.csv").read_text().splitlines())
    support = {row["class"]: int(row["support"]) for row in table}
    assert sum(support.values()) == TEST
    for name in CLASSES:
        event = test_events.Tensors(f"test/pr_curve/{name}")[-1]  # `litlab test`'s, after the one ending `fit`
        tp, fp, tn, fn, precision, recall = tensor_util.make_ndarray(event.tensor_proto)
        assert len(tp) == 127
        assert np.all(tp + fp + tn + fn == TEST)
        assert np.all(tp + fn == support[name])  # the class's positives, at every threshold
        assert tp[0] == support[name] and recall[0] == 1  # threshold 0: everything predicted positive
        assert np.all(np.diff(recall) <= 0) and np.all((precision >= 0) & (precision <= 1))


def test_test_report_files(runs: dict, test_events: EventAccumulator) -> None:
    folder, fit_dir = runs["test"], runs["fit"]
    report = json.loads((folder / "test_metrics.json").read_text())
    assert report["num_samples"] == TEST
    assert report["ckpt_path"] == str((fit_dir / "checkpoints" / "last.ckpt").resolve())
    for tag in ("test/acc", "test/f1", "test/loss", "test/recall"):
        assert report["metrics"][tag] == pytest.approx(last(test_events, tag), rel=1e-6)

    with open(folder / "confusion_matrix.csv") as file:
        rows = list(csv.reader(file))
    assert rows[0][1:] == CLASSES and [row[0] for row in rows[1:]] == CLASSES
    matrix = np.array([[int(v) for v in row[1:]] for row in rows[1:]])
    assert matrix.sum() == TEST
    assert np.trace(matrix) / TEST == pytest.approx(report["metrics"]["test/acc"], abs=1e-6)

    with open(folder / "per_class.csv") as file:
        table = list(csv.DictReader(file))
    assert [int(row["support"]) for row in table] == matrix.sum(axis=1).tolist()
    accuracy = [float(row["recall"]) for row in table]
    assert accuracy == pytest.approx((np.diag(matrix) / matrix.sum(axis=1)).tolist(), abs=1e-6)
    assert np.mean(accuracy) == pytest.approx(report["metrics"]["test/recall"], abs=1e-5)
    assert Image.open(folder / "confusion_matrix.png").size[0] > 400


def test_the_run_folders_pictures_are_what_tensorboard_shows(runs: dict, test_events: EventAccumulator) -> None:
    files = {"confusion_matrix.png": "test/confusion_matrix", "roc.png": "test/roc_curves",
             "reliability.png": "test/reliability_diagram"}  # fmt: skip
    for name, tag in files.items():
        shown = png(test_events.Images(tag)[-1].encoded_image_string)  # `litlab test`'s, written into its folder
        saved = np.asarray(Image.open(runs["test"] / name).convert("RGB"))
        assert shown.shape == saved.shape and np.array_equal(shown, saved), name
        assert shown.std() > 10


def session_info(run: Path) -> dict[str, bytes]:
    try:
        return accumulator(run).PluginTagToContent(metadata.PLUGIN_NAME)
    except KeyError:
        return {}


def test_hparams_are_the_resolved_config(runs: dict) -> None:
    content = session_info(runs["fit"])
    start = metadata.parse_session_start_info_plugin_data(content[metadata.SESSION_START_INFO_TAG])
    hparams = {name: getattr(value, value.WhichOneof("kind")) for name, value in start.hparams.items()}
    expected = {
        "model/backbone": "MLP",
        "model/backbone/hidden_sizes": "[256, 128]",
        "model/optimizer": "AdamW",
        "model/optimizer/lr": 0.001,
        "model/scheduler": "CosineAnnealingLR",
        "data": "SyntheticClassificationData",
        "data/batch_size": 128,
        "data/input_shape": "[3, 8, 8]",
        "trainer/max_epochs": 2,
        "trainer/precision": "32-true",
        "seed": 42,
    }
    assert {name: hparams.get(name) for name in expected} == expected
    assert "data/num_workers" not in hparams and not any(name.startswith("model/_") for name in hparams)
    end = metadata.parse_session_end_info_plugin_data(content[metadata.SESSION_END_INFO_TAG])
    assert end.status == api_pb2.STATUS_SUCCESS


def test_hparams_plugin_shows_real_final_metrics(runs: dict, test_events: EventAccumulator) -> None:
    """Ask TensorBoard's own hparams backend what its table shows."""
    root = str(runs["root"])
    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(root)
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, root)
    context = backend_context.Context(
        base_plugin.TBContext(logdir=root, multiplexer=multiplexer, data_provider=provider)
    )
    request = api_pb2.ListSessionGroupsRequest(
        start_index=0, slice_size=10, include_metrics=True, allowed_statuses=[api_pb2.STATUS_SUCCESS]
    )
    response = list_session_groups.Handler(tb_context.RequestContext(), context, "", request).run()
    (group,) = response.session_groups
    assert group.name == "synthetic_mlp/version_0"
    shown = {value.name.tag: value.value for value in group.metric_values}
    fit_events = runs["fit_events"]
    assert shown["val/acc_best"] == pytest.approx(max(e.value for e in fit_events.Scalars("val/acc")))
    assert shown["val/acc"] == pytest.approx(last(fit_events, "val/acc"))
    for tag in ("test/acc", "test/f1", "test/loss", "test/auroc", "test/ece"):
        assert shown[tag] == pytest.approx(last(test_events, tag))
    assert 0 < shown["test/acc"] <= 1


def test_report_of_the_real_runs(runs: dict) -> None:
    markdown_path, _ = write_report(runs["root"])
    (row,) = table(markdown_path.read_text())  # the tests logged into the run they evaluated
    events = runs["fit_events"]
    test_metrics = json.loads((runs["test"] / "test_metrics.json").read_text())["metrics"]
    assert row["run"] == "`synthetic_mlp/version_0`" and row["status"] == "finished"
    assert (row["model"], row["optimizer"], row["lr"], row["batch"], row["epochs"]) == (
        "MLP",
        "AdamW",
        "0.001",
        "128",
        "2/2",
    )
    assert row["best val acc"] == f"{max(e.value for e in events.Scalars('val/acc')):.4f}"
    assert row["test acc"] == f"{test_metrics['test/acc']:.4f}"
    assert row["img/s"] == f"{np.median([e.value for e in events.Scalars('time/train_images_per_s')]):.0f}"


def every_dashboard() -> list[L.Callback]:
    return [
        callbacks.EpochTimer(),
        callbacks.HParamsSummary(),
        callbacks.TrainSampleGrid(),
        callbacks.ConfusionMatrixFigure(),
        callbacks.PerClassMetrics(),
        callbacks.PRCurves(),
        callbacks.WorstMisclassified(),
        callbacks.TestReport(),
    ]


def tiny_trainer(
    tmp_path: Path, logger: object, dashboards: list[L.Callback]
) -> tuple[L.Trainer, ClassificationTask, dict[str, object]]:
    """Fit and test a 4-class model for 2 epochs; also returns the metrics seen at the end of fit."""
    data = SyntheticClassificationData(num_classes=4, input_shape=(3, 8, 8), sizes=(64, 32, 32), batch_size=16)
    model = ClassificationTask(functools.partial(MLP, hidden_sizes=[16]), num_classes=4, input_shape=(3, 8, 8))
    trainer = L.Trainer(
        default_root_dir=tmp_path,
        max_epochs=2,
        logger=logger,
        callbacks=dashboards,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        log_every_n_steps=1,
    )
    trainer.fit(model, datamodule=data)
    fit_metrics = dict(trainer.callback_metrics)
    trainer.test(model, datamodule=data)
    return trainer, model, fit_metrics


@pytest.mark.parametrize("kind", ["none", "csv"])
def test_dashboards_skip_without_tensorboard(tmp_path: Path, kind: str) -> None:
    logger = False if kind == "none" else CSVLogger(tmp_path)
    trainer, _, fit_metrics = tiny_trainer(tmp_path, logger, every_dashboard())
    assert fit_metrics["time/train_images_per_s"] > 0  # metrics logged through Lightning still work
    assert not list(tmp_path.rglob("events.out.tfevents.*"))
    report = Path(trainer.log_dir) / "test_metrics.json"
    assert report.is_file() == (kind == "csv")  # files need a run folder; without a logger there is none


def test_param_histograms_every_n_epochs(tmp_path: Path) -> None:
    trainer, model, _ = tiny_trainer(
        tmp_path, TensorBoardLogger(tmp_path), [callbacks.ParamHistograms(every_n_epochs=2)]
    )
    events = accumulator(Path(trainer.log_dir))
    names = [name for name, _ in model.named_parameters()]
    assert set(events.Tags()["histograms"]) == {f"{kind}/{name}" for kind in ("weights", "grads") for name in names}
    (histogram,) = events.Histograms(f"weights/{names[0]}")  # epochs 0 and 1 with every 2: only epoch 0
    assert histogram.histogram_value.num == model.get_parameter(names[0]).numel()
