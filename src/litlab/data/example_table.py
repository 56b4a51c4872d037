"""A generated table for the CSV example (`configs/table_mlp.yaml`, `make table-data`) and its tests.

Rows describe made-up plants: numeric features on very different scales (some missing), a categorical soil
type (some missing) and a numeric code that is really a category. The class (`low`, `mid`, `high` yield)
depends on a ring in two features and on the soil, so a straight-line classifier leaves accuracy on the table
that a small MLP can take. Nothing is downloaded or committed; the same seed writes the same file.
"""

import csv
from pathlib import Path

import torch

SOILS = ("clay", "loam", "sand", "silt")


def write_example_table(path: str | Path, rows: int = 3000, seed: int = 0, missing: float = 0.05) -> Path:
    """Write the table to `path` (CSV) and return the path."""
    g = torch.Generator().manual_seed(seed)
    height = 50 + 20 * torch.randn(rows, generator=g)  # cm
    rain = torch.exp(6 + 0.5 * torch.randn(rows, generator=g))  # mm, skewed, thousands
    sun = torch.rand(rows, generator=g)  # fraction of the day
    soil = torch.randint(len(SOILS), (rows,), generator=g)
    code = torch.randint(1, 4, (rows,), generator=g)
    ring = ((height - 50) / 20) ** 2 + ((sun - 0.5) / 0.25) ** 2
    score = -ring + 0.8 * (soil == 1).float() - 0.8 * (soil == 2).float() + 0.3 * (code == 2).float()
    score = score + 0.4 * torch.randn(rows, generator=g)
    label = torch.bucketize(score, torch.tensor([-2.2, -0.6]))
    names = ("low", "mid", "high")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as file:
        out = csv.writer(file)
        out.writerow(["plant_id", "height_cm", "rain_mm", "sun", "soil", "code", "yield"])
        for i in range(rows):
            gaps = (torch.rand(3, generator=g) < missing).tolist()
            out.writerow([
                f"p{i:05d}",
                "" if gaps[0] else f"{height[i]:.1f}",
                f"{rain[i]:.0f}",
                "NA" if gaps[1] else f"{sun[i]:.3f}",
                "" if gaps[2] else SOILS[soil[i]],
                int(code[i]),
                names[label[i]],
            ])  # fmt: skip
    return path


if __name__ == "__main__":
    import sys

    print(write_example_table(sys.argv[1] if len(sys.argv) > 1 else "data/example_table.csv"))
