"""New rows for `litlab predict`: CSV (or Parquet) files encoded exactly as the checkpoint's table was.

    litlab predict --config <run>/config.yaml --ckpt_path <run>/checkpoints/last.ckpt --inputs new.csv

The training table is not needed. The feature columns, their means and stds, categories, class names and target
columns come from the checkpoint's `Preprocessing` record (`litlab.data.table_encoding`); nothing is measured
on the new rows. Other columns (ids, the training table's ignored ones) are left alone. A file that lacks a
feature column stops the run with an error naming both. An empty cell is a missing value, encoded as training
encoded one; a row the encoding cannot represent (a category training never saw, text in a numeric column) stops
the run with an error naming the file, row and column, or with `skip_bad_inputs` is left out and listed
(`skipped`). A file that has the target column(s) gives each row its label, so the predictions can be checked.
Each prediction names its file and row (`predict_input_names`, `predict_input_rows`: data rows from 0).
"""

from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

from litlab.command.errors import CheckpointError, LitlabError
from litlab.data.base import LitlabDataModule
from litlab.data.preprocessing import Preprocessing, for_new_inputs
from litlab.data.table import read_table, table_targets
from litlab.data.table_encoding import Column, TableEncoding, is_number

SHOWN_PROBLEMS = 5


class TableInputsDataModule(LitlabDataModule):
    """Rows to predict, encoded with the table encoding that the checkpoint `checkpoint` records.

    Args:
        inputs: table files (.csv, or .parquet with pyarrow) with the training table's feature columns.
        checkpoint: the checkpoint whose model will predict; its preprocessing record is used.
        skip_bad_inputs: leave out rows the encoding cannot represent (listed in `skipped`) instead of stopping
            with an error. A missing column is an error either way: no row of that file could be encoded.
    """

    def __init__(
        self, inputs: list[str], checkpoint: str, skip_bad_inputs: bool = False, batch_size: int = 256,
        num_workers: int = 0,
    ) -> None:  # fmt: skip
        super().__init__(batch_size=batch_size, num_workers=num_workers)
        record, task_sizes = for_new_inputs(checkpoint)
        if record.kind != "table":
            raise LitlabError(f"--inputs here takes tables, but {checkpoint} was trained on {record.kind} data.")
        if "encoding" not in record.extra:
            raise CheckpointError(
                f"{checkpoint} was written before litlab recorded a table's encoding, so new rows cannot be encoded "
                "the same way. Predict with the training data's config instead (no --inputs), or fit again."
            )
        self.record = record
        for name, value in task_sizes.items():  # linked into the task, as a training data module's are
            setattr(self, name, value)
        self.input_shape = record.input_shape
        self.class_names = record.class_names
        self.encoding = TableEncoding.from_dict(record.extra["encoding"])
        self.target_names: list[str] = list(record.extra["targets"])
        self.target_kind: str = record.extra["target_kind"]
        self.inputs = list(inputs)
        self.skip_bad_inputs = skip_bad_inputs
        self.skipped: list[tuple[str, str]] = []
        self.predict_input_names: list[str] = []
        self.predict_input_rows: list[int] = []

    def preprocessing(self) -> Preprocessing:
        return self.record

    def _labels(self, columns: dict[str, Column], count: int) -> torch.Tensor:
        """Class indices (-1 where a row has none, or a class the model does not know) or values (NaN where none)."""
        if not all(t in columns for t in self.target_names):
            no_value = torch.full((count, len(self.target_names)), float("nan"))
            return torch.full((count,), -1) if self.target_kind == "class" else no_value
        if self.target_kind == "class":
            index = {name: i for i, name in enumerate(self.class_names or ())}
            return torch.tensor([index.get(v, -1) for v in columns[self.target_names[0]]], dtype=torch.long)
        numbers = {t: [v if v is not None and is_number(v) else "nan" for v in columns[t]] for t in self.target_names}
        return table_targets(numbers, self.target_names, "value", None)

    def _read(self, file: str) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
        """One file's encoded features and labels, and the rows kept (all, unless rows are skipped)."""
        columns = read_table(Path(file))
        absent = [c for c in self.encoding.columns if c not in columns]
        if absent:
            raise LitlabError(
                f"{file} has no column {', '.join(map(repr, absent))}, which the model was trained on (its columns: "
                f"{', '.join(columns)}). Add the column; an empty cell counts as a missing value."
            )
        count = len(next(iter(columns.values()), []))
        problems = self.encoding.problems(columns)
        if problems and not self.skip_bad_inputs:
            lines = [f"  {file} row {row}: {reason}" for row, reason in sorted(problems.items())[:SHOWN_PROBLEMS]]
            if len(problems) > SHOWN_PROBLEMS:
                lines.append(f"  ... and {len(problems) - SHOWN_PROBLEMS} more rows")
            raise LitlabError(
                f"{file} has rows the model's table encoding cannot represent (rows counted from 0 after the header):\n"
                + "\n".join(lines)
                + "\nFix them, or pass --skip_bad_inputs true to leave such rows out (they are listed)."
            )
        for row, reason in sorted(problems.items()):
            self.skipped.append((f"{file} row {row}", f"{file} row {row}: {reason}"))
        kept = [row for row in range(count) if row not in problems]
        columns = {c: [values[row] for row in kept] for c, values in columns.items()}
        return self.encoding.encode(columns, len(kept)), self._labels(columns, len(kept)), kept

    def setup(self, stage: str | None = None) -> None:
        if stage != "predict":
            raise LitlabError("tables given with --inputs can only be predicted on; use a training data module.")
        self.skipped = []
        read = [(file, *self._read(file)) for file in self.inputs]
        self.predict_input_names = [file for file, _, _, rows in read for _ in rows]
        self.predict_input_rows = [row for _, _, _, rows in read for row in rows]
        if not self.predict_input_rows:
            first = f"; the first: {self.skipped[0][1]}" if self.skipped else ""
            raise LitlabError(f"no row of {', '.join(self.inputs)} could be predicted on{first}")
        features = torch.cat([part[1] for part in read])
        labels = torch.cat([part[2] for part in read])
        self.predict_set = TensorDataset(features, labels)

    def predict_dataloader(self) -> DataLoader:
        return self._loader(self.predict_set, shuffle=False)
