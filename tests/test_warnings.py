"""The test suite's output stays readable: the third-party deprecations litlab cannot act on are filtered by name
in pyproject.toml, so a fit-and-test run under pytest's own warning filters records no deprecation at all."""

import warnings
from pathlib import Path

import pytest

from conftest import fast_synthetic_args
from litlab.command.cli import main


def test_fit_and_test_record_no_deprecation_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JSONARGPARSE_DEPRECATION_WARNINGS", "all")  # else jsonargparse warns once per process
    with warnings.catch_warnings(record=True) as caught:  # pytest's filters (pyproject.toml) stay in force
        main(["fit", *fast_synthetic_args(tmp_path, epochs=1)])
    deprecations = [
        f"{w.category.__name__} {w.filename}:{w.lineno}: {str(w.message).strip()[:200]}"
        for w in caught
        if issubclass(w.category, DeprecationWarning | FutureWarning | PendingDeprecationWarning)
    ]
    assert deprecations == []
