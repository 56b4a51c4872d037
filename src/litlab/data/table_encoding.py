"""How a table's feature columns become the model's input vector, fitted on the training split only.

Numeric columns are standardised with the training split's mean and std; a missing value becomes the mean,
plus a 1 in a `<column>_missing` feature for the columns that have one (`indicators`). Categorical columns are
one-hot encoded over the training split's values, a missing value being its own category `<missing>`.

`TableDataModule` fits one encoding and encodes its three splits with it (a value first seen in val/test
encodes as all zeros there). The encoding is saved in every checkpoint (the `Preprocessing` record's `extra`),
so `litlab predict --inputs new.csv` encodes new rows with exactly these numbers; there `problems` finds the
rows the encoding cannot represent (a category never seen in training, text in a numeric column) so they stop
the run with an error, or are skipped and listed, instead of silently becoming zeros.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

MISSING_CATEGORY = "<missing>"
Column = list[str | None]


def is_number(value: str) -> bool:
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


@dataclass
class TableEncoding:
    """The feature columns, in feature order, and the training statistics that encode them (plain types only)."""

    numeric: list[str]
    categorical: list[str]
    indicators: list[str]  # numeric columns that also get a `<column>_missing` feature
    mean: dict[str, float]
    std: dict[str, float]
    categories: dict[str, list[str]]

    @classmethod
    def fit(
        cls, train: Mapping[str, Column], numeric: Sequence[str], categorical: Sequence[str], indicators: Sequence[str]
    ) -> "TableEncoding":
        """Mean and std per numeric column, sorted categories per categorical column, from `train` alone."""
        mean, std = {}, {}
        for c in numeric:
            present = torch.tensor([float(v) for v in train[c] if v is not None], dtype=torch.float64)
            mean[c] = present.mean().item() if len(present) else 0.0
            std[c] = present.std().item() if len(present) > 1 and present.std() > 0 else 1.0
        categories = {c: sorted({MISSING_CATEGORY if v is None else v for v in train[c]}) for c in categorical}
        return cls(list(numeric), list(categorical), [c for c in numeric if c in indicators], mean, std, categories)

    @property
    def columns(self) -> list[str]:
        """The table columns the encoding reads."""
        return self.numeric + self.categorical

    @property
    def feature_names(self) -> list[str]:
        names = []
        for c in self.numeric:
            names += [c, f"{c}_missing"] if c in self.indicators else [c]
        for c in self.categorical:
            names += [f"{c}={value}" for value in self.categories[c]]
        return names

    @property
    def stats(self) -> dict[str, Any]:
        """The statistics alone, as checkpoints of `TableDataModule` have always held them."""
        return {"mean": self.mean, "std": self.std, "categories": self.categories}

    def with_stats(self, stats: Mapping[str, Any]) -> "TableEncoding":
        return TableEncoding(self.numeric, self.categorical, self.indicators, dict(stats["mean"]), dict(stats["std"]),
                             {c: list(v) for c, v in stats["categories"].items()})  # fmt: skip

    def encode(self, columns: Mapping[str, Column], rows: int) -> torch.Tensor:
        """(rows, features) float32 features; an unknown category encodes as all zeros (see `problems`)."""
        parts = []
        for c in self.numeric:
            mean, std = self.mean[c], self.std[c]
            values = torch.tensor([mean if v is None else float(v) for v in columns[c]], dtype=torch.float64)
            parts.append(((values - mean) / std)[:, None])
            if c in self.indicators:
                parts.append(torch.tensor([[float(v is None)] for v in columns[c]], dtype=torch.float64))
        for c in self.categorical:
            index = {value: i for i, value in enumerate(self.categories[c])}
            one_hot = torch.zeros(len(columns[c]), len(index), dtype=torch.float64)
            for row, v in enumerate(columns[c]):
                if (key := MISSING_CATEGORY if v is None else v) in index:
                    one_hot[row, index[key]] = 1
            parts.append(one_hot)
        return torch.cat(parts, dim=1).float() if parts else torch.zeros(rows, 0)

    def problems(self, columns: Mapping[str, Column]) -> dict[int, str]:
        """Row -> what the encoding cannot represent in it (its first such cell), for the rows that have one."""
        found: dict[int, str] = {}
        for c in self.numeric:
            for row, v in enumerate(columns[c]):
                if v is not None and not is_number(v):
                    found.setdefault(row, f"column {c!r} holds {v!r}, which is not a number")
        for c in self.categorical:
            known = self.categories[c]
            for row, v in enumerate(columns[c]):
                if (MISSING_CATEGORY if v is None else v) not in known:
                    shown = "an empty value" if v is None else repr(v)
                    found.setdefault(row, f"column {c!r} holds {shown}, which training never saw (it saw: "
                                          f"{', '.join(known)})")  # fmt: skip
        return found

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> "TableEncoding":
        return cls(**{name: record[name] for name in cls.__dataclass_fields__})
