"""A run trained on a GPU, evaluated on a machine without one, as the tutorials' `map_location` teaches.

`tests/data/gpu_saved_run/` is a real run folder made on an NVIDIA H200 (this project's GPU check machine):
`configs/synthetic_mlp.yaml` with a [32] hidden layer on 3x8x8 inputs, 2 epochs in bf16-mixed, then
`litlab predict --trainer.precision 32-true` there, whose `predictions.csv` is kept. Its checkpoint holds CUDA
tensors and its config.yaml asks for `accelerator: gpu`.
"""

import shutil
from pathlib import Path

import pytest
import torch

from conftest import read_csv_rows
from litlab.command.cli import main

GPU_RUN = Path(__file__).parent / "data" / "gpu_saved_run"


def test_the_fixture_is_a_gpu_checkpoint() -> None:
    if torch.cuda.is_available():
        pytest.skip("on a GPU machine a CUDA checkpoint loads as it is")
    with pytest.raises(RuntimeError, match="CUDA"):
        torch.load(GPU_RUN / "checkpoints" / "last.ckpt", weights_only=True)


def test_predict_on_the_cpu_writes_what_the_gpu_wrote(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    shutil.copytree(GPU_RUN, run)
    (run / "predictions.csv").unlink()
    main(["predict", "--ckpt_path", str(run / "checkpoints" / "last.ckpt")])
    if not torch.cuda.is_available():
        assert "which this machine does not have; predict runs on the CPU" in capsys.readouterr().out
    here, there = read_csv_rows(run / "predictions.csv"), read_csv_rows(GPU_RUN / "predictions.csv")
    assert len(here) == len(there) == 128
    for mine, theirs in zip(here, there, strict=True):
        assert [mine[k] for k in ("index", "label", "predicted", "top2", "top3")] == [
            theirs[k] for k in ("index", "label", "predicted", "top2", "top3")
        ]
        for key in ("probability", "top2_probability", "top3_probability"):
            assert float(mine[key]) == pytest.approx(float(theirs[key]), abs=2e-6)


@pytest.mark.skipif(torch.cuda.is_available(), reason="the fallback is for machines without a GPU")
def test_only_an_evaluation_without_an_accelerator_choice_falls_back() -> None:
    from litlab.command.evaluation_device import ON_THE_CPU, evaluate_where_possible

    config = ["--config", str(GPU_RUN / "config.yaml")]
    assert evaluate_where_possible(["test", *config]) == ["test", *config, *ON_THE_CPU]
    assert evaluate_where_possible(["fit", *config]) == ["fit", *config]  # training elsewhere than asked: an error
    chosen = ["validate", *config, "--trainer.accelerator=cpu"]
    assert evaluate_where_possible(chosen) == chosen
