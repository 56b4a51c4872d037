"""The Makefile as a person reads it: `make help` in two aligned columns, `make data-jpg` says what it did."""

import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def make(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    # --no-print-directory: under `make test`, a nested make would print "make[1]: Entering directory ...".
    return subprocess.run(["make", "--no-print-directory", "-f", str(REPO / "Makefile"), *args], cwd=cwd,
                          capture_output=True, text=True)  # fmt: skip


def test_help_descriptions_start_in_one_column() -> None:
    lines = make("help").stdout.splitlines()
    rows = [re.match(r"  (make \S+|Variables:) +", line) for line in lines]
    assert all(rows) and len(rows) > 10, lines
    assert len({row.end() for row in rows}) == 1, lines


def test_data_jpg_says_what_it_unpacked(tmp_path: Path) -> None:
    source = tmp_path / "source"
    for name in ("train/cat/0.jpg", "train/dog/1.jpg", "test/cat/2.jpg"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(b"not really a jpeg")
    archive = tmp_path / "cifar10-jpg.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for split in ("train", "test"):
            tar.add(source / split, arcname=split)
    result = make("data-jpg", f"JPG_ARCHIVE={archive}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"unpacked {archive} into data/cifar10-jpg: 3 files" in result.stdout
    assert (tmp_path / "data" / "cifar10-jpg" / "train" / "dog" / "1.jpg").is_file()
    assert "already unpacked" in make("data-jpg", f"JPG_ARCHIVE={archive}", cwd=tmp_path).stdout
