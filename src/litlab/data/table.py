"""A table (CSV, or Parquet with pyarrow installed) as training data: one YAML, no Python.

Columns: `target` (one column for classification, one or more for regression), the rest are features unless
listed in `ignore`. A feature column is numeric when every present value parses as a number, else categorical
(or list it in `categorical`). Numeric features are standardised with the training split's mean and std;
categorical ones are one-hot encoded over the training split's values (a value first seen in val/test encodes
as all zeros). Missing values (empty, NA, NaN, null, None, ?) are counted and printed per column and split:
a numeric one becomes the training mean plus a 1 in a `<column>_missing` indicator feature, a categorical one
its own category; a row without a target is dropped. These statistics travel in checkpoints (`state_dict`, and the
whole encoding in the preprocessing record), so `litlab test` of a checkpoint, and `litlab predict --inputs new.csv`
(`litlab.data.table_inputs`), encode new data exactly as training did.

Splits: `val_path` and `test_path` files, or a seeded `val_fraction` / `test_fraction` of `path`'s rows.
The target is class indices (`num_classes`, `class_names`; for `ClassificationTask`) or float values
(`num_outputs`; for `RegressionTask`). `target_kind: auto` decides from the column(s): classes for one
column holding text or at most `AUTO_MAX_CLASSES` distinct integers, values otherwise; "class" or "value"
forces it. Only the matching attribute exists, so the task gets exactly one of them linked.
"""

import csv
import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import torch
from lightning.pytorch.utilities import rank_zero_info
from torch.utils.data import TensorDataset

from litlab.command.errors import LitlabError
from litlab.data.base import LitlabDataModule
from litlab.data.preprocessing import Preprocessing
from litlab.data.table_encoding import Column, TableEncoding, is_number

MISSING = {"", "na", "n/a", "nan", "null", "none", "?"}
AUTO_MAX_CLASSES = 20  # target_kind auto: a column of at most this many distinct integers holds classes


def read_table(path: Path) -> dict[str, Column]:
    """Column name -> values as strings (None where missing)."""
    if not path.is_file():
        raise LitlabError(f"no table at {path}; set data.init_args.path to a .csv or .parquet file.")
    if path.suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise LitlabError("reading Parquet needs pyarrow: pip install 'litlab[tables]'.") from None
        raw = pq.read_table(path).to_pydict()
        columns = {name: [None if v is None else str(v) for v in values] for name, values in raw.items()}
    else:
        with path.open(newline="") as file:
            rows = list(csv.reader(file))
        if not rows:
            raise LitlabError(f"{path} is empty; it needs a header row and data rows.")
        header, body = rows[0], rows[1:]
        columns = {name: [row[i] if i < len(row) else None for row in body] for i, name in enumerate(header)}
    return {name: [None if v is None or v.strip().lower() in MISSING else v.strip() for v in vs]
            for name, vs in columns.items()}  # fmt: skip


class TableDataModule(LitlabDataModule):
    """Exposes `input_shape` (number of encoded features), `feature_names`, `num_classes` and `class_names`
    (classification), `num_outputs` and `target_names` (regression), `missing` (the missing-value counts) and
    `encoding` (`litlab.data.table_encoding`). Predicting on the test split names each row's file and row.

    Args:
        path: the table (.csv, or .parquet with pyarrow).
        target: the target column, or a list of them (regression).
        categorical: columns to one-hot encode even if they hold numbers (e.g. codes).
        ignore: columns that are not features (ids, free text).
        val_path, test_path: separate files for those splits (same columns); else held out from `path`.
        val_fraction, test_fraction: shares of `path`'s rows held out, by a permutation seeded with `seed`.
        target_kind: "auto" (see above), "class" or "value".
    """

    def __init__(
        self,
        path: str | Path,
        target: str | Sequence[str],
        categorical: Sequence[str] = (),
        ignore: Sequence[str] = (),
        val_path: str | Path | None = None,
        test_path: str | Path | None = None,
        val_fraction: float = 0.15,
        test_fraction: float = 0.15,
        seed: int = 0,
        target_kind: Literal["auto", "class", "value"] = "auto",
        batch_size: int = 256,
        num_workers: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers)
        self.save_hyperparameters()
        self.targets = [target] if isinstance(target, str) else list(target)
        self.target_names = self.targets
        self.splits, self.origins = self._read_splits()
        columns = list(self.splits[0])
        features = [c for c in columns if c not in self.targets and c not in ignore]
        self.numeric = [c for c in features if c not in categorical and all(
            v is None or is_number(v) for split in self.splits for v in split[c])]  # fmt: skip
        self.categorical = [c for c in features if c not in self.numeric]
        self.missing = {c: [sum(v is None for v in split[c]) for split in self.splits] for c in features}
        self.missing = {c: counts for c, counts in self.missing.items() if sum(counts)}
        self.encoding = TableEncoding.fit(self.splits[0], self.numeric, self.categorical, list(self.missing))
        self.input_shape = (len(self.feature_names),)
        values = sorted({v for split in self.splits for v in split[self.targets[0]]})
        self.class_names = sorted(values, key=float) if all(map(is_number, values)) else values
        self.target_kind = self._kind(values)
        if self.target_kind == "class":
            self.num_classes = len(self.class_names)
        else:
            self.num_outputs = len(self.targets)
        self._report_missing()

    @property
    def feature_names(self) -> list[str]:
        return self.encoding.feature_names

    @property
    def stats(self) -> dict[str, Any]:
        return self.encoding.stats

    def _read_splits(self) -> tuple[list[dict[str, Column]], list[tuple[str, list[int]]]]:
        """Train, val, test columns, rows without a target dropped (and reported); and for each split its file
        and the position of each kept row among that file's data rows (what predictions name a row by)."""
        main = read_table(Path(self.hparams.path))
        absent = [name for name in self.targets if name not in main]
        if absent:
            raise LitlabError(f"target column(s) {absent} not in the table; its columns are {list(main)}.")
        given = [self.hparams.val_path, self.hparams.test_path]
        if all(p is not None for p in given):
            splits = [main, *(read_table(Path(p)) for p in given)]
            files = [str(self.hparams.path), *map(str, given)]
            positions = [list(range(len(next(iter(split.values()), [])))) for split in splits]
        else:
            n = len(next(iter(main.values())))
            order = torch.randperm(n, generator=torch.Generator().manual_seed(self.hparams.seed)).tolist()
            n_val, n_test = round(self.hparams.val_fraction * n), round(self.hparams.test_fraction * n)
            parts = [order[n_val + n_test :], order[:n_val], order[n_val : n_val + n_test]]
            positions = [sorted(part) for part in parts]
            splits = [{c: [vs[i] for i in rows] for c, vs in main.items()} for rows in positions]
            files = [str(self.hparams.path)] * 3
        kept, origins = [], []
        for name, split, file, position in zip(("train", "val", "test"), splits, files, positions, strict=True):
            rows = [i for i in range(len(split[self.targets[0]])) if all(split[t][i] is not None for t in self.targets)]
            dropped = len(split[self.targets[0]]) - len(rows)
            if dropped:
                rank_zero_info(f"Table: dropped {dropped} {name} rows without a target.")
            kept.append({c: [vs[i] for i in rows] for c, vs in split.items()})
            origins.append((file, [position[i] for i in rows]))
        return kept, origins

    def _report_missing(self) -> None:
        if self.missing:
            lines = [
                f"  {c}: {counts[0]} train, {counts[1]} val, {counts[2]} test" for c, counts in self.missing.items()
            ]
            rank_zero_info("Table: missing values (numeric: train mean + indicator; categorical: own category)\n"
                           + "\n".join(lines))  # fmt: skip

    def encode(self, split: dict[str, Column]) -> torch.Tensor:
        """(rows, features) float32 features of one split, with the training statistics."""
        return self.encoding.encode(split, len(split[self.targets[0]]))

    def _targets(self, split: dict[str, Column]) -> torch.Tensor:
        return table_targets(split, self.targets, self.target_kind, self.class_names)

    def _kind(self, values: list[str]) -> Literal["class", "value"]:
        if self.hparams.target_kind != "auto":
            return self.hparams.target_kind
        if len(self.targets) > 1:
            return "value"
        if not all(map(is_number, values)):
            return "class"
        few_integers = all(float(v).is_integer() for v in values) and len(values) <= AUTO_MAX_CLASSES
        return "class" if few_integers else "value"

    def setup(self, stage: str | None = None) -> None:
        task = self.trainer.lightning_module if self.trainer is not None else None
        takes = set(inspect.signature(type(task).__init__).parameters) if task is not None else set()
        wants = "class" if "num_classes" in takes else "value" if "num_outputs" in takes else None
        if wants is not None and wants != self.target_kind:
            read_as = "classes" if self.target_kind == "class" else "values"
            raise LitlabError(
                f"the table's target column is read as {read_as}, but {type(task).__name__} needs {wants}s; "
                f"set data.init_args.target_kind: {wants}."
            )
        self.train_set, self.val_set, self.test_set = (
            TensorDataset(self.encode(split), self._targets(split)) for split in self.splits
        )
        file, rows = self.origins[2]  # predict is the test split (LitlabDataModule)
        self.predict_input_names, self.predict_input_rows = [file] * len(rows), rows

    def train_targets(self) -> torch.Tensor:
        return self._targets(self.splits[0])

    def state_dict(self) -> dict[str, Any]:
        """Saved in checkpoints: the encoding learned from the training split."""
        encoding = {"stats": self.stats, "feature_names": self.feature_names, "class_names": self.class_names}
        return {**super().state_dict(), **encoding}

    def preprocessing(self) -> Preprocessing:
        """A table's inputs are encoded (standardised, one-hot) with the training split's statistics: the whole
        encoding travels in `extra`, with the target columns, so new rows can be encoded without the table."""
        names = list(self.class_names) if self.target_kind == "class" else None
        extra = {"encoding": self.encoding.as_dict(), "targets": list(self.targets), "target_kind": self.target_kind}
        return Preprocessing("table", tuple(self.input_shape), names, extra=extra)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if state_dict["feature_names"] != self.feature_names:
            raise LitlabError(
                f"this checkpoint was trained on the features {state_dict['feature_names']}, the table gives "
                f"{self.feature_names}; use a table with the training table's columns and categories."
            )
        self.encoding, self.class_names = self.encoding.with_stats(state_dict["stats"]), state_dict["class_names"]
        if hasattr(self, "train_set"):
            self.setup()  # encode again, with the checkpoint's statistics


def table_targets(
    columns: dict[str, Column], targets: list[str], kind: str, class_names: Sequence[str] | None
) -> torch.Tensor:
    """Class indices (kind "class", by `class_names`), or (rows, len(targets)) float values."""
    if kind == "class":
        index = {name: i for i, name in enumerate(class_names or ())}
        return torch.tensor([index[v] for v in columns[targets[0]]])
    return torch.tensor([[float(columns[t][i]) for t in targets] for i in range(len(columns[targets[0]]))])
