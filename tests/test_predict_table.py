"""`litlab predict` of a model trained on a table: new CSV rows encoded with the checkpoint's statistics (checked
against a numpy encoding from the saved statistics and the checkpoint's model), the test split named by file and
row, unusable rows named or skipped, and regression values named after the target columns."""

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import CONFIGS, fails, read_csv_rows
from litlab.checkpoints.export import load_checkpoint
from litlab.command.cli import main
from litlab.data.example_table import write_example_table

MISSING = {"", "na"}  # what the example table writes for a missing value


def write_rows(path: Path, rows: list[dict[str, str]], columns: list[str]) -> Path:
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def fit(tmp: Path, csv_file: Path, *args: str) -> Path:
    main(["fit", *args, "--data.init_args.path", str(csv_file), "--trainer.max_epochs", "2",
          "--trainer.log_every_n_steps", "1", "--trainer.enable_progress_bar", "false",
          "--trainer.enable_model_summary", "false", "--test_after_fit", "false",
          "--trainer.logger.init_args.save_dir", str(tmp / "logs")])  # fmt: skip
    (run,) = (tmp / "logs").glob("*/version_0")
    return run


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """configs/table_mlp.yaml for two epochs on 600 generated rows (missing values included)."""
    tmp = tmp_path_factory.mktemp("table")
    return fit(tmp, write_example_table(tmp / "plants.csv", rows=600), "--config", str(CONFIGS / "table_mlp.yaml"))


def predict_args(run: Path, *args: str) -> list[str]:
    return ["predict", "--config", str(run / "config.yaml"), "--ckpt_path", str(run / "checkpoints" / "last.ckpt"),
            "--trainer.enable_progress_bar", "false", *args]  # fmt: skip


def predict(run: Path, *args: str) -> None:
    main(predict_args(run, *args))


def model_outputs(run: Path, rows: list[dict[str, str]]) -> tuple[np.ndarray, dict]:
    """The checkpoint's model on `rows`, encoded here in numpy from the statistics the checkpoint saved."""
    ckpt = run / "checkpoints" / "last.ckpt"
    saved = torch.load(ckpt, weights_only=True)["TableDataModule"]
    mean, std = saved["stats"]["mean"], saved["stats"]["std"]
    x = np.zeros((len(rows), len(saved["feature_names"])), dtype=np.float64)
    for j, name in enumerate(saved["feature_names"]):
        for i, row in enumerate(rows):
            if "=" in name:  # one-hot: "column=value"
                column, value = name.split("=", 1)
                cell = row[column] if row[column].lower() not in MISSING else "<missing>"
                x[i, j] = cell == value
            elif name.endswith("_missing") and name.removesuffix("_missing") in mean:
                x[i, j] = row[name.removesuffix("_missing")].lower() in MISSING
            elif row[name].lower() not in MISSING:  # a missing value is the mean: 0 once standardised
                x[i, j] = (float(row[name]) - mean[name]) / std[name]
    module, _ = load_checkpoint(ckpt, with_datamodule=False)
    with torch.no_grad():
        return module(torch.from_numpy(x).float()).numpy(), saved


def written_probabilities(rows: list[dict[str, str]], class_names: list[str]) -> np.ndarray:
    """Every class's probability, from the predicted and top-k columns (top_k covers all classes here)."""
    out = np.full((len(rows), len(class_names)), np.nan)
    for i, row in enumerate(rows):
        for name_column, p_column in [("predicted", "probability"), ("top2", "top2_probability"),
                                      ("top3", "top3_probability")]:  # fmt: skip
            out[i, class_names.index(row[name_column])] = float(row[p_column])
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_new_csv_rows_are_encoded_with_the_checkpoints_statistics(run: Path, tmp_path: Path, capsys) -> None:
    source = read_csv_rows(write_example_table(tmp_path / "source.csv", rows=30, seed=7))
    for row in source[:10]:  # other units: re-measured statistics would differ from the saved ones
        row["rain_mm"] = str(float(row["rain_mm"]) * 3)
    columns = list(reversed(source[0]))  # another column order; plant_id is not a feature and comes along
    labeled = write_rows(tmp_path / "labeled.csv", source[:20], columns)
    unlabeled = write_rows(tmp_path / "unlabeled.csv", source[20:], [c for c in columns if c != "yield"])
    training = run.parent.parent.parent / "plants.csv"
    training.rename(training.with_name("away.csv"))  # the training table is not needed
    try:
        predict(run, "--inputs", f"[{labeled}, {unlabeled}]", "--output", str(tmp_path / "out.csv"))
    finally:
        training.with_name("away.csv").rename(training)
    rows = read_csv_rows(tmp_path / "out.csv")
    assert [(r["input"], int(r["row"])) for r in rows] == [(str(labeled), i) for i in range(20)] + [
        (str(unlabeled), i) for i in range(10)
    ]
    assert [r["label"] for r in rows] == [r["yield"] for r in source[:20]] + [""] * 10
    logits, saved = model_outputs(run, source)
    expected = softmax(logits.astype(np.float64))
    np.testing.assert_allclose(written_probabilities(rows, saved["class_names"]), expected, atol=2e-6)
    assert [r["predicted"] for r in rows] == [saved["class_names"][i] for i in expected.argmax(1)]
    out = capsys.readouterr().out
    assert "Predictions for 30 inputs" in out and "Agrees with the label on" in out and "of 20 labeled inputs" in out


def test_the_test_split_is_named_by_file_and_row(run: Path) -> None:
    predict(run)
    rows = read_csv_rows(run / "predictions.csv")
    training = run.parent.parent.parent / "plants.csv"
    table = read_csv_rows(training)
    assert len(rows) == 90 and {r["input"] for r in rows} == {str(training)}
    positions = [int(r["row"]) for r in rows]
    assert positions == sorted(set(positions))  # each row once, in file order
    source = [table[i] for i in positions]
    assert [r["label"] for r in rows] == [r["yield"] for r in source]
    logits, saved = model_outputs(run, source)
    np.testing.assert_allclose(written_probabilities(rows, saved["class_names"]), softmax(logits), atol=2e-6)


def test_a_missing_column_or_an_unseen_category_is_named_or_skipped(run: Path, tmp_path: Path, capsys) -> None:
    source = read_csv_rows(write_example_table(tmp_path / "source.csv", rows=8, seed=3))
    no_soil = write_rows(tmp_path / "no_soil.csv", source, [c for c in source[0] if c != "soil"])
    fails(predict_args(run, "--inputs", str(no_soil), "--output", str(tmp_path)), capsys,
          f"{no_soil} has no column 'soil', which the model was trained on")  # fmt: skip
    source[2]["soil"], source[5]["height_cm"] = "peat", "tall"
    bad = write_rows(tmp_path / "bad.csv", source, list(source[0]))
    fails(predict_args(run, "--inputs", str(bad), "--output", str(tmp_path)), capsys,
          f"{bad} row 2: column 'soil' holds 'peat', which training never saw",
          f"{bad} row 5: column 'height_cm' holds 'tall', which is not a number", lines=5)  # fmt: skip
    # The checkpoint alone, no --config: what a user with only the run's checkpoint types.
    main(["predict", "--ckpt_path", str(run / "checkpoints" / "last.ckpt"), "--inputs", str(bad), "--output",
          str(tmp_path), "--skip_bad_inputs", "true", "--trainer.enable_progress_bar", "false"])  # fmt: skip
    assert [int(r["row"]) for r in read_csv_rows(tmp_path / "predictions.csv")] == [0, 1, 3, 4, 6, 7]
    out = capsys.readouterr().out
    assert "Skipped 2 inputs" in out and f"{bad} row 2: column 'soil'" in out and f"{bad} row 5:" in out


def test_regression_on_a_table_names_its_values_after_the_target_columns(tmp_path: Path) -> None:
    csv_file = write_example_table(tmp_path / "plants.csv", rows=300)
    run = fit(tmp_path, csv_file, "--config", str(CONFIGS / "synthetic_regression.yaml"),
              "--data", "litlab.data.TableDataModule", "--data.init_args.target", "[height_cm, sun]",
              "--data.init_args.ignore", "[plant_id]")  # fmt: skip
    source = read_csv_rows(write_example_table(tmp_path / "new.csv", rows=12, seed=5))
    predict(run, "--inputs", str(tmp_path / "new.csv"), "--output", str(tmp_path / "out.csv"))
    rows = read_csv_rows(tmp_path / "out.csv")
    assert list(rows[0]) == ["index", "input", "row", "label_height_cm", "label_sun", "prediction_height_cm",
                             "prediction_sun"]  # fmt: skip
    for target in ("height_cm", "sun"):  # a missing target value leaves its label cell empty
        assert [r[f"label_{target}"] for r in rows] == [
            "" if s[target].lower() in MISSING else f"{float(s[target]):.6g}" for s in source
        ]
    values, _ = model_outputs(run, source)
    written = np.array([[float(r["prediction_height_cm"]), float(r["prediction_sun"])] for r in rows])
    np.testing.assert_allclose(written, values, rtol=1e-5, atol=1e-5)
