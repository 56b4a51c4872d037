"""Bad input, round two: each class of mistake in at least three variants, each a short message, no run touched.

Classes: a GPU or device count this machine lacks; a YAML syntax error (named by file, line and column, with the
line); a class_path whose required arguments are missing; values out of their range; an image folder with one
class; a log folder that cannot be written; a typo inside a nested class's init_args; a module that is not
importable; an evaluation command without its config.
"""

import subprocess
from pathlib import Path

import pytest

from conftest import CONFIGS, EXPERIMENT, fails, fast_synthetic_args, write_image_folder
from litlab.command.cli import main


def fit(logs: Path, *extra: str) -> list[str]:
    return ["fit", *fast_synthetic_args(logs, epochs=1), *extra]


def no_new_run(logs: Path) -> None:
    assert [p.name for p in (logs / EXPERIMENT).iterdir()] == ["version_0"]


@pytest.mark.parametrize(
    "extra",
    [
        ["--trainer.accelerator", "gpu"],
        ["--trainer.accelerator", "cuda", "--trainer.devices", "4"],
        ["--config", str(CONFIGS / "trainer" / "gpu.yaml")],
        ["--trainer.accelerator", "mps"],
    ],
    ids=["gpu", "cuda-4", "gpu-preset", "mps"],
)
def test_accelerator_this_machine_lacks(logs: Path, capsys, extra: list[str]) -> None:
    fails(fit(logs, *extra), capsys, "cannot run as configured on this machine", "--trainer.accelerator cpu")
    no_new_run(logs)


@pytest.mark.parametrize(
    ("text", "line", "shown"),
    [
        ("trainer:\n  max_epochs: [3\n", 2, "  max_epochs: [3"),
        ("trainer:\n  max_epochs: 3\n   logger: false\n", 3, "   logger: false"),
        ("model:\n  init_args: {lr: 0.1\n", 2, "  init_args: {lr: 0.1"),
        ("data:\n\tinit_args: {}\n", 2, "\tinit_args: {}"),
    ],
    ids=["open-bracket", "indent", "open-brace", "tab"],
)
def test_yaml_syntax_error_names_file_line_and_shows_it(
    logs: Path, tmp_path: Path, capsys, text: str, line: int, shown: str
) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text(text)
    message = fails(fit(logs, "--config", str(bad)), capsys, f"{bad}, line {line}, column", shown, lines=4)
    caret_line = message.splitlines()[2]
    assert caret_line.strip() == "^"
    no_new_run(logs)


@pytest.mark.parametrize(
    ("extra", "owner", "missing"),
    [
        (["--model.init_args.scheduler", "torch.optim.lr_scheduler.StepLR"], "StepLR", "step_size"),
        (["--model.init_args.scheduler", "torch.optim.lr_scheduler.MultiStepLR"], "MultiStepLR", "milestones"),
        (["--model.init_args.scheduler", "torch.optim.lr_scheduler.LambdaLR"], "LambdaLR", "lr_lambda"),
    ],
)
def test_missing_required_argument_of_a_chosen_class(logs: Path, capsys, extra, owner: str, missing: str) -> None:
    fails(fit(logs, *extra), capsys, owner, missing, f"--model.init_args.scheduler.init_args.{missing}")
    no_new_run(logs)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("--model.init_args.label_smoothing", "1.2"),
        ("--model.init_args.backbone.init_args.dropout", "1.0"),
        ("--model.init_args.optimizer.init_args.weight_decay", "-0.01"),
        ("--data.init_args.noise", "-1"),
        ("--data.init_args.sizes", "[512, 0, 256]"),
        ("--model.init_args.optimizer.init_args.betas", "[0.9, 1.5]"),
    ],
)
def test_values_out_of_range_stop_before_training(logs: Path, capsys, key: str, value: str) -> None:
    fails(fit(logs, key, value), capsys, key.removeprefix("--"), "must be")
    no_new_run(logs)


@pytest.mark.parametrize(
    ("option", "value"),
    [("val_fraction", "1.5"), ("val_fraction", "0"), ("augmentation.crop_padding", "4"), ("image_size", "0")],
)
def test_image_folder_values_out_of_range(tmp_path: Path, capsys, option: str, value: str) -> None:
    root = write_image_folder(tmp_path / "images", {"train": 4})
    args = ["fit", "--config", str(CONFIGS / "cifar10_jpg_cnn.yaml"), "--data.init_args.root", str(root),
            f"--data.init_args.{option}", value,
            "--trainer.logger.init_args.save_dir", str(tmp_path / "logs")]  # fmt: skip
    fails(args, capsys, option.rsplit(".", 1)[-1])
    assert not (tmp_path / "logs").exists()


@pytest.mark.parametrize("split_counts", [{"train": 3}, {"train": 3, "test": 2}, {"train": 3, "val": 1}])
def test_image_folder_with_one_class(tmp_path: Path, capsys, split_counts: dict[str, int]) -> None:
    root = write_image_folder(tmp_path / "images", split_counts, classes=("only",))
    args = ["fit", "--config", str(CONFIGS / "cifar10_jpg_cnn.yaml"), "--data.init_args.root", str(root)]
    fails(args, capsys, "one class folder (only)", "at least two")


def read_only_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "ro"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {mounted.stderr.decode().strip()}")
    return folder


@pytest.mark.parametrize("where", ["parent-is-a-file", "read-only", "proc"])
def test_log_folder_that_cannot_be_written(logs: Path, tmp_path: Path, capsys, where: str) -> None:
    if where == "parent-is-a-file":
        (tmp_path / "notes.txt").write_text("a file")
        target = tmp_path / "notes.txt" / "logs"
    elif where == "read-only":
        target = read_only_folder(tmp_path) / "logs"
    else:
        target = Path("/proc/litlab-logs")
    try:
        fails([*fit(logs), "--trainer.logger.init_args.save_dir", str(target)], capsys, str(target), "writable")
    finally:
        if where == "read-only":
            subprocess.run(["umount", str(target.parent)], check=False)
    no_new_run(logs)


@pytest.mark.parametrize(
    ("extra", "owner", "suggestion"),
    [
        (["--model.init_args.optimizer.init_args.lrr", "0.1"], "torch.optim.AdamW", "'lr'"),
        (["--model.init_args.scheduler.init_args.T_maxx", "3"], "CosineAnnealingLR", "'T_max'"),
        (["--model.init_args.backbone.init_args.hiden_sizes", "[8]"], "litlab.models.MLP", "'hidden_sizes'"),
    ],
)
def test_typo_in_nested_init_args_names_that_class(logs: Path, capsys, extra, owner: str, suggestion: str) -> None:
    message = fails(fit(logs, *extra), capsys, owner, f"Did you mean {suggestion}?")
    assert "ClassificationTask has no option" not in message
    no_new_run(logs)


def test_module_not_importable_says_where_litlab_looks(logs: Path, in_tmp: Path, capsys) -> None:
    fails(fit(logs, "--model.init_args.backbone", "my_models.Net"), capsys, "no module my_models", "PYTHONPATH")


def test_a_model_file_in_the_current_folder_is_found(tmp_path: Path, in_tmp: Path) -> None:
    (in_tmp / "my_models.py").write_text(
        "import torch\n\nclass Net(torch.nn.Sequential):\n    def __init__(self, input_shape, num_outputs):\n"
        "        super().__init__(torch.nn.Flatten(), torch.nn.LazyLinear(num_outputs))\n"
    )
    main([*fit(tmp_path / "logs", "--model.init_args.backbone", "my_models.Net"), "--test_after_fit", "false"])
    assert (tmp_path / "logs" / EXPERIMENT / "version_0" / "checkpoints" / "last.ckpt").is_file()


def test_evaluation_without_config_reads_the_runs_own(earlier: Path, capsys) -> None:
    checkpoint = earlier / "checkpoints" / "last.ckpt"
    main(["validate", "--ckpt_path", str(checkpoint), "--trainer.logger", "false"])
    assert f"using the training run's config, {earlier / 'config.yaml'}" in capsys.readouterr().out


def test_evaluation_without_config_and_no_run_says_what_to_give(tmp_path: Path, capsys) -> None:
    for command in ("test", "validate", "predict"):
        fails([command, "--ckpt_path", str(tmp_path / "model.ckpt")], capsys, "--config", "config.yaml")


@pytest.mark.parametrize(("typed", "meant"), [("fti", "fit"), ("tset", "test"), ("predcit", "predict")])
def test_a_mistyped_subcommand_suggests_the_closest(typed: str, meant: str, capsys) -> None:
    fails([typed, "--config", str(CONFIGS / "synthetic_mlp.yaml")], capsys, f"'{typed}'", f"`litlab {meant}`")


def test_a_missing_checkpoint_lists_the_ones_that_are_there(earlier: Path, capsys) -> None:
    wanted = earlier / "checkpoints" / "best.ckpt"  # a name people guess
    present = sorted(p.name for p in (earlier / "checkpoints").glob("*.ckpt"))
    assert present, "the earlier run has checkpoints"
    fails(["test", "--ckpt_path", str(wanted)], capsys, "does not exist", *present)
