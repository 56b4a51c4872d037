"""`make resume` (and `--ckpt_path last`) of a run that already trained all its epochs says so and trains nothing."""

from pathlib import Path

import pytest

from conftest import fast_synthetic_args
from litlab.command.cli import main
from litlab.command.resume import main as resume_main


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def test_resuming_a_finished_run_says_so_and_leaves_it_alone(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    logs = tmp_path / "logs"
    main(["fit", *fast_synthetic_args(logs, epochs=2)])
    (run,) = (logs / "synthetic_mlp").iterdir()
    before = snapshot(run)

    with pytest.raises(SystemExit) as stopped:
        resume_main(["--logs", str(logs)])
    assert stopped.value.code in (0, None)
    assert f"{run} already finished" in caplog.text and "all 2 epochs" in caplog.text
    assert "--trainer.max_epochs 4" in caplog.text  # what to do instead
    assert "Sanity Checking" not in caplog.text and "Resuming" not in caplog.text
    assert snapshot(run) == before  # no new events file, checkpoint or test
    assert [p.name for p in (logs / "synthetic_mlp").iterdir()] == [run.name]
