"""`litlab predict` on an image-folder run: the test split, new images without the training data, top-k, bad files,
and the exported model's example script agreeing with it.

The probabilities are checked against the checkpoint's model run by hand on the files' pixels, normalized with
the statistics the training data module itself measured.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import CONFIGS, REPO, read_csv_rows, write_image_folder
from litlab.checkpoints.export import export, load_checkpoint
from litlab.command.cli import main
from litlab.data import ImageFolderDataModule

CLASSES = ("ant", "bee", "cat")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-epoch SimpleCNN run on 8x8 PNGs, whose training images then move away (not needed to predict)."""
    tmp = tmp_path_factory.mktemp("predict")
    root = write_image_folder(tmp / "images", {"train": 10, "test": 4}, classes=CLASSES)
    main([
        "fit", "--config", str(CONFIGS / "cifar10_jpg_cnn.yaml"),
        "--model.init_args.backbone", "litlab.models.SimpleCNN",
        "--data.init_args.root", str(root), "--data.init_args.batch_size", "8", "--data.init_args.num_workers", "0",
        "--data.init_args.augment", "false",
        "--trainer.max_epochs", "2", "--trainer.enable_progress_bar", "false", "--test_after_fit", "false",
        "--trainer.logger.init_args.save_dir", str(tmp / "logs"),
    ])  # fmt: skip
    (run,) = (tmp / "logs" / "cifar10_jpg_cnn").iterdir()
    return run


def predict(run: Path, *args: str) -> None:
    """`litlab predict` of the run's last checkpoint with its own config, in this process."""
    ckpt = run / "checkpoints" / "last.ckpt"
    main(["predict", "--config", str(run / "config.yaml"), "--ckpt_path", str(ckpt), *args,
          "--trainer.enable_progress_bar", "false"])  # fmt: skip


def expected_probabilities(run: Path, files: list[str]) -> np.ndarray:
    """The checkpoint's model on the files' pixels, normalized with the stats the data module measures itself."""
    data = ImageFolderDataModule(Path(run.parent.parent.parent / "images"), num_workers=0)
    data.setup("test")
    module, _ = load_checkpoint(run / "checkpoints" / "last.ckpt", with_datamodule=False)
    pixels = np.stack([np.asarray(Image.open(f).convert("RGB"), dtype=np.float32) / 255 for f in files])
    x = (pixels - np.array(data.mean, dtype=np.float32)) / np.array(data.std, dtype=np.float32)
    with torch.no_grad():
        return module(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()).softmax(-1).numpy()


def test_predict_writes_the_test_split_into_its_run_with_top_k(run: Path) -> None:
    predict(run, "--top_k", "2")
    assert [p.name for p in run.parent.iterdir()] == [run.name]  # no new version_N
    rows = read_csv_rows(run / "predictions.csv")
    files = sorted(str(p) for p in (run.parent.parent.parent / "images" / "test").rglob("*.png"))
    assert [r["input"] for r in rows] == files and [int(r["index"]) for r in rows] == list(range(len(files)))
    assert [r["label"] for r in rows] == [Path(f).parent.name for f in files]
    expected = expected_probabilities(run, files)
    top = np.argsort(-expected, axis=1)
    for row, probabilities, order in zip(rows, expected, top, strict=True):
        assert row["predicted"] == CLASSES[order[0]] and row["top2"] == CLASSES[order[1]]
        assert float(row["probability"]) == pytest.approx(probabilities[order[0]], abs=1e-5)
        assert float(row["top2_probability"]) == pytest.approx(probabilities[order[1]], abs=1e-5)
    assert "top3" not in rows[0]


def test_new_images_are_prepared_from_the_checkpoint_alone(run: Path, tmp_path: Path, capsys) -> None:
    images = run.parent.parent.parent / "images"
    new = tmp_path / "new"
    shutil.copytree(images / "test", new / "labeled")  # class subfolders: labels come along
    loose = new / "loose"
    loose.mkdir()
    for i, file in enumerate(sorted((images / "test").rglob("*.png"))[:5]):
        shutil.copy(file, loose / f"photo{i}.png")
    moved = images.with_name("away")
    images.rename(moved)  # the training data is not needed
    try:
        output = tmp_path / "out" / "labeled.csv"
        predict(run, "--inputs", str(new / "labeled"), "--output", str(output))
        labeled = read_csv_rows(output)
        files = sorted(str(p) for p in (new / "labeled").rglob("*.png"))
        assert [r["input"] for r in labeled] == files and [r["label"] for r in labeled] == [
            Path(f).parent.name for f in files
        ]
        out = capsys.readouterr().out
        assert f"Predictions for {len(files)} inputs written to {output}" in out and "Predicted classes:" in out
        loose_files = sorted(str(p) for p in loose.iterdir())
        predict(run, "--inputs", f"[{loose}, {loose_files[0]}]", "--output", str(tmp_path / "out"))
        unlabeled = read_csv_rows(tmp_path / "out" / "predictions.csv")
    finally:
        moved.rename(images)
    assert "label" not in unlabeled[0] and [r["input"] for r in unlabeled] == [*loose_files, loose_files[0]]
    expected = expected_probabilities(run, [*loose_files, loose_files[0]])
    assert [r["predicted"] for r in unlabeled] == [CLASSES[i] for i in expected.argmax(1)]
    np.testing.assert_allclose([float(r["probability"]) for r in unlabeled], expected.max(1), atol=1e-5)
    by_file = {r["input"]: r for r in labeled}  # the same pixels in a labeled folder: the same prediction
    for row, file in zip(unlabeled, sorted((new / "labeled").rglob("*.png"))[:5], strict=False):
        assert row["probability"] == by_file[str(file)]["probability"]


def test_a_bad_file_is_named_or_skipped_and_listed(run: Path, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    good = sorted((run.parent.parent.parent / "images" / "test").rglob("*.png"))[:2]
    for i, file in enumerate(good):
        shutil.copy(file, folder / f"good{i}.png")
    (folder / "broken.png").write_text("not an image")
    Image.new("RGB", (12, 9)).save(folder / "big.png")
    args = ["--inputs", f"[{folder}]", "--output", str(tmp_path)]
    with pytest.raises(SystemExit) as stopped:
        predict(run, *args)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert str(folder / "big.png") in err or str(folder / "broken.png") in err
    predict(run, *args, "--skip_bad_inputs", "true")
    out = capsys.readouterr().out
    rows = read_csv_rows(tmp_path / "predictions.csv")
    assert [r["input"] for r in rows] == [str(folder / "good0.png"), str(folder / "good1.png")]
    assert "Skipped 2 inputs" in out and str(folder / "broken.png") in out
    assert f"{folder / 'big.png'} is 9x12 pixels, but the model takes 8x8" in out


def test_exported_model_example_classifies_as_litlab_predict_does(run: Path, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    model_path, _ = export(run / "checkpoints" / "last.ckpt", "onnx", tmp_path)
    files = sorted(str(p) for p in (run.parent.parent.parent / "images" / "test").rglob("*.png"))
    predict(run, "--inputs", *files, "--output", str(tmp_path))  # as a shell glob gives them
    rows = read_csv_rows(tmp_path / "predictions.csv")
    script = REPO / "scripts" / "classify_images.py"
    result = subprocess.run([sys.executable, str(script), str(model_path), *files], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    printed = [line.split("\t") for line in result.stdout.splitlines()]
    assert [(f, c) for f, c, _ in printed] == [(r["input"], r["predicted"]) for r in rows]
    np.testing.assert_allclose([float(p) for *_, p in printed], [float(r["probability"]) for r in rows], atol=2e-5)
