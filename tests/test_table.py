"""The table data module: encoding, missing values, splits, checkpointed statistics; and the YAML-only CSV
example against a logistic regression fitted here on the same split."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import CONFIGS
from litlab.command.cli import main
from litlab.command.errors import LitlabError
from litlab.data import TableDataModule
from litlab.data.example_table import write_example_table

TABLE = """id,size,colour,count,price
a,1.5,red,3,10.0
b,,blue,1,12.5
c,3.5,red,,9.0
d,2.0,,2,11.0
e,4.0,green,5,20.0
f,NA,blue,4,15.0
g,1.0,red,1,
"""


def small_table(tmp_path: Path) -> TableDataModule:
    (tmp_path / "train.csv").write_text(TABLE)
    (tmp_path / "val.csv").write_text("id,size,colour,count,price\ng,2.5,purple,2,11.0\n")
    (tmp_path / "test.csv").write_text("id,size,colour,count,price\nh,,red,1,8.0\n")
    return TableDataModule(tmp_path / "train.csv", "price", ignore=["id"], val_path=tmp_path / "val.csv",
                           test_path=tmp_path / "test.csv", target_kind="value")  # fmt: skip


def test_numeric_standardised_with_train_stats_categories_one_hot_missing_reported(tmp_path: Path) -> None:
    data = small_table(tmp_path)
    assert data.feature_names == ["size", "size_missing", "count", "count_missing",
                                  "colour=<missing>", "colour=blue", "colour=green", "colour=red"]  # fmt: skip
    # row g has no target: dropped. Train rows a-f; size present in a, c, d, e.
    assert data.missing == {"size": [2, 0, 1], "colour": [1, 0, 0], "count": [1, 0, 0]}
    data.setup()
    x, y = data.train_set.tensors
    sizes = np.array([1.5, 3.5, 2.0, 4.0])
    mean, std = sizes.mean(), sizes.std(ddof=1)
    expected = (np.array([1.5, mean, 3.5, 2.0, 4.0, mean]) - mean) / std
    np.testing.assert_allclose(x[:, 0].numpy(), expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(x[:, 1].numpy(), [0, 1, 0, 0, 0, 1])
    np.testing.assert_array_equal(x[:, 4:].numpy(), [[0, 0, 0, 1], [0, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0],
                                                     [0, 0, 1, 0], [0, 1, 0, 0]])  # fmt: skip
    np.testing.assert_allclose(y.squeeze(1).numpy(), [10.0, 12.5, 9.0, 11.0, 20.0, 15.0])
    val_x, _ = data.val_set.tensors
    assert val_x[0, 4:].tolist() == [0, 0, 0, 0]  # "purple" never seen in training: all zeros
    test_x, _ = data.test_set.tensors
    assert test_x[0, 0].item() == pytest.approx(0.0, abs=1e-6) and test_x[0, 1].item() == 1  # imputed mean


def test_the_target_kind_is_read_from_the_column_and_a_mismatched_task_is_explained(tmp_path: Path, capsys) -> None:
    (tmp_path / "t.csv").write_text("x,label,code,price\n" + "".join(
        f"{i},{'ab'[i % 2]},{i % 3},{i * 1.5}\n" for i in range(30)))  # fmt: skip
    kinds = {target: TableDataModule(tmp_path / "t.csv", target).target_kind for target in ("label", "code", "price")}
    assert kinds == {"label": "class", "code": "class", "price": "value"}
    by_price = TableDataModule(tmp_path / "t.csv", "price")
    assert hasattr(by_price, "num_outputs") and not hasattr(by_price, "num_classes")
    assert TableDataModule(tmp_path / "t.csv", ["price", "code"]).num_outputs == 2
    with pytest.raises(SystemExit):
        main(["fit", "--config", str(CONFIGS / "synthetic_regression.yaml"), "--data", "litlab.data.TableDataModule",
              "--data.init_args.path", str(tmp_path / "t.csv"), "--data.init_args.target", "code",
              "--model.init_args.num_outputs", "1",
              "--trainer.logger.init_args.save_dir", str(tmp_path / "logs")])  # fmt: skip
    assert "RegressionTask needs values; set data.init_args.target_kind: value." in capsys.readouterr().err


def test_a_seeded_split_is_reproducible_and_disjoint(tmp_path: Path) -> None:
    path = write_example_table(tmp_path / "t.csv", rows=200)
    first, second = (TableDataModule(path, "yield", ignore=[], seed=3) for _ in range(2))
    ids = [[set(split["plant_id"]) for split in data.splits] for data in (first, second)]
    assert ids[0] == ids[1] and [len(s) for s in ids[0]] == [140, 30, 30]
    assert not (ids[0][0] & ids[0][1]) and not (ids[0][0] & ids[0][2])
    assert "plant_id" in first.categorical  # not ignored here, so a (useless) category


def test_wrong_target_and_changed_columns_are_explained(tmp_path: Path) -> None:
    path = write_example_table(tmp_path / "t.csv", rows=100)
    with pytest.raises(LitlabError, match="target column"):
        TableDataModule(path, "yeld")
    data = TableDataModule(path, "yield", ignore=["plant_id"])
    other = TableDataModule(path, "yield", ignore=["plant_id", "rain_mm"])
    with pytest.raises(LitlabError, match="trained on the features"):
        other.load_state_dict(data.state_dict())


def test_a_parquet_table_encodes_like_the_csv(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet", reason="Parquet needs the tables extra (pyarrow)")
    import csv

    import pyarrow as pa

    path = write_example_table(tmp_path / "t.csv", rows=120)
    with path.open() as file:
        rows = list(csv.DictReader(file))
    columns = {name: [row[name] or None for row in rows] for name in rows[0]}
    columns["rain_mm"] = [float(v) for v in columns["rain_mm"]]  # a real float column, as Parquet stores it
    pq.write_table(pa.table(columns), tmp_path / "t.parquet")
    from_csv = TableDataModule(path, "yield", ignore=["plant_id"], categorical=["code"])
    from_parquet = TableDataModule(tmp_path / "t.parquet", "yield", ignore=["plant_id"], categorical=["code"])
    assert from_parquet.feature_names == from_csv.feature_names
    from_csv.setup()
    from_parquet.setup()
    torch.testing.assert_close(from_parquet.train_set.tensors[0], from_csv.train_set.tensors[0])


def logistic_regression_accuracy(data: TableDataModule) -> float:
    """Multinomial logistic regression on the module's own encoding and split, fitted by L-BFGS to convergence."""
    data.setup()
    (x, y), (test_x, test_y) = data.train_set.tensors, data.test_set.tensors
    x, test_x = x.double(), test_x.double()
    weight = torch.zeros(x.shape[1], data.num_classes, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(data.num_classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=1000, tolerance_grad=1e-10, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(x @ weight + bias, y) + 1e-4 * weight.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return ((test_x @ weight + bias).argmax(dim=1) == test_y).double().mean().item()


# Its two numbers are in benchmarks/RESULTS.md.
@pytest.mark.slow  # 12 epochs and a reference model: CI runs it (.ci/run)
def test_yaml_only_mlp_on_a_csv_beats_logistic_regression_and_saves_its_encoding(tmp_path: Path) -> None:
    csv_file = write_example_table(tmp_path / "example_table.csv")
    main([
        "fit", "--config", str(CONFIGS / "table_mlp.yaml"), "--data.init_args.path", str(csv_file),
        "--trainer.logger.init_args.save_dir", str(tmp_path / "logs"), "--trainer.enable_progress_bar", "false",
    ])  # fmt: skip
    (run,) = (tmp_path / "logs" / "table_mlp").iterdir()
    mlp = json.loads((run / "test_metrics.json").read_text())["metrics"]["test/acc"]
    baseline = logistic_regression_accuracy(TableDataModule(csv_file, "yield", ignore=["plant_id"],
                                                            categorical=["code"], seed=0))  # fmt: skip
    print(f"table_mlp test/acc {mlp:.4f}, logistic regression {baseline:.4f}")
    assert mlp >= baseline
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    saved = checkpoint["TableDataModule"]
    assert saved["feature_names"][:2] == ["height_cm", "height_cm_missing"] and saved["class_names"] == [
        "high", "low", "mid"]  # fmt: skip
    assert saved["stats"]["mean"]["rain_mm"] > 100  # raw scale, from the training split
    # `litlab test` of the checkpoint, as a user runs it: the saved config and encoding parse and load again.
    main(["test", "--config", str(run / "config.yaml"), "--ckpt_path", str(run / "checkpoints" / "last.ckpt")])
    assert json.loads((run / "test_metrics.json").read_text())["metrics"]["test/acc"] >= baseline
