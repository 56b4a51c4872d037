"""What `litlab predict` takes beyond Lightning's own arguments: new inputs, where the file goes, top-k.

`--inputs` swaps the config's data, before anything is instantiated, for `LooseImagesDataModule` (image files and
folders) or, for a model trained on a table, `TableInputsDataModule` (CSV or Parquet files), so the training data
module (and its data) is never built; the inputs are prepared as the checkpoint records. The predictions file
defaults to the checkpoint's training run.
"""

from pathlib import Path

from jsonargparse import Namespace
from lightning.pytorch.cli import LightningArgumentParser

from litlab.callbacks.fit_run import fit_run_of
from litlab.checkpoints.io import read_checkpoint
from litlab.command.errors import ConfigError
from litlab.data.preprocessing import from_checkpoint

INPUTS_DATA = {  # the checkpoint's kind of data -> the data module that prepares --inputs like it
    "table": "litlab.data.table_inputs.TableInputsDataModule",
    "image": "litlab.data.loose_images.LooseImagesDataModule",
}


def add_predict_arguments(parser: LightningArgumentParser) -> None:
    """The predict subcommand's own options (LitlabCLI adds them to that subcommand's parser only)."""
    parser.add_argument(
        "--inputs",
        type=list[str] | str | None,
        default=None,
        help="an image file or folder, or a list of them ('[a.png, photos/]'), or for a model trained on a table "
        "CSV files, to predict on instead of the config's data, prepared as the checkpoint records (needs "
        "--ckpt_path).",
    )
    parser.add_argument(
        "--skip_bad_inputs", type=bool, default=False, help="leave out and list unusable inputs (images, table rows)."
    )
    parser.add_argument(
        "--output", type=str | None, default=None, help="predictions file or folder (default: the run folder)."
    )
    parser.add_argument("--top_k", type=int, default=3, help="most probable classes listed per input.")


def default_predictions_path(ckpt_path: str | None) -> Path:
    """`<run>/predictions.csv` for a checkpoint of a training run, else beside the checkpoint (or here)."""
    if not ckpt_path:
        return Path("predictions.csv")
    return (fit_run_of(ckpt_path) or Path(ckpt_path).parent) / "predictions.csv"


def predict_on_inputs(config: Namespace) -> None:
    """`--inputs`: the config's data is replaced by the given images or table files, read as the checkpoint says."""
    ckpt_path = config.get("ckpt_path")
    if not ckpt_path or not Path(str(ckpt_path)).is_file():
        raise ConfigError("--inputs needs --ckpt_path <checkpoint file>: the checkpoint says how to prepare inputs.")
    record = from_checkpoint(read_checkpoint(str(ckpt_path), mmap=True))
    class_path = INPUTS_DATA.get(record.kind if record else "image", INPUTS_DATA["image"])  # which says why it cannot
    batch_size = (config.data.get("init_args") or {}).get("batch_size") if isinstance(config.data, Namespace) else None
    inputs = [config.inputs] if isinstance(config.inputs, str) else config.inputs
    init_args = {"inputs": inputs, "checkpoint": str(ckpt_path), "skip_bad_inputs": config.skip_bad_inputs}
    config.data = Namespace(
        class_path=class_path,
        init_args=Namespace(**init_args, **({"batch_size": batch_size} if batch_size else {})),
    )
