"""How a model's inputs were prepared in training, recorded once and read back wherever the model is used.

A data module may measure what it normalizes with (`ImageFolderDataModule` measures the per-channel mean and
std of its training images). Those numbers used to live only in memory and in the image cache, so an exported
model came with `"mean": null` and was fed wrongly scaled inputs. Now every litlab data module describes its
preprocessing as a `Preprocessing` record, Lightning saves it in each checkpoint through the data module's
`state_dict()` hook, and `litlab predict` on new data and `litlab.checkpoints.export` read it from there: it is never
measured again from other data.

Kinds:
  image     uint8 pixels, read as RGB or grayscale, resized to `image_size` when `resize` (else they must have
            that size), scaled to [0, 1], then normalized per channel: (x - mean) / std.
  features  float tensors of `input_shape`, fed as they are (synthetic data).
  table     a table's feature columns, standardised and one-hot encoded; `extra` holds the whole encoding
            (`litlab.data.table_encoding`), the target columns and whether they hold classes or values.
"""

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from litlab.checkpoints.io import read_checkpoint
from litlab.command.errors import CheckpointError

STATE_KEY = "litlab_preprocessing"  # the key in a data module's state_dict, hence in the checkpoint
TASK_SIZES = ("num_classes", "num_outputs", "num_labels")  # what a training data module links into its task


@dataclass(frozen=True)
class Preprocessing:
    """What turns a raw input into the tensor the model was trained on; plain types only (weights-only loadable)."""

    kind: Literal["image", "features", "table"]
    input_shape: tuple[int, ...]
    class_names: list[str] | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    resize: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def image_size(self) -> tuple[int, int] | None:
        return (self.input_shape[1], self.input_shape[2]) if self.kind == "image" else None

    @property
    def grayscale(self) -> bool:
        return self.kind == "image" and self.input_shape[0] == 1

    @property
    def is_complete(self) -> bool:
        """Whether a user can feed the model from this record alone: images need their mean and std."""
        return self.kind != "image" or (self.mean is not None and self.std is not None)

    def as_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["input_shape"] = list(self.input_shape)
        for key in ("mean", "std"):
            record[key] = None if record[key] is None else [float(v) for v in record[key]]
        return record

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> "Preprocessing":
        def floats(values: Sequence[float] | None) -> tuple[float, ...] | None:
            return None if values is None else tuple(float(v) for v in values)

        names = record.get("class_names")
        return cls(
            kind=record["kind"],
            input_shape=tuple(int(v) for v in record["input_shape"]),
            class_names=None if names is None else [str(n) for n in names],
            mean=floats(record.get("mean")),
            std=floats(record.get("std")),
            resize=bool(record.get("resize", False)),
            extra=dict(record.get("extra") or {}),
        )


def from_checkpoint(checkpoint: Mapping[str, Any]) -> Preprocessing | None:
    """The record Lightning saved from the data module's `state_dict()`, or None (a checkpoint from before)."""
    for value in checkpoint.values():
        if isinstance(value, Mapping) and STATE_KEY in value:
            return Preprocessing.from_dict(value[STATE_KEY])
    return None


def of_datamodule(datamodule: Any) -> Preprocessing:
    """The data module's own record: litlab data modules define `preprocessing()`; others cannot be described."""
    if datamodule is None:
        raise CheckpointError("the checkpoint records no data module, so nothing says how its inputs were prepared.")
    describe = getattr(datamodule, "preprocessing", None)
    if not callable(describe):
        raise CheckpointError(
            f"cannot tell how {type(datamodule).__name__} prepares its inputs. Give it a `preprocessing()` method "
            "returning litlab.data.preprocessing.Preprocessing, or subclass litlab.data.LitlabDataModule."
        )
    return describe()


def require_complete(preprocessing: Preprocessing, source: str) -> Preprocessing:
    """`preprocessing`, or a `CheckpointError` when it lacks the statistics the model needs."""
    if not preprocessing.is_complete:
        raise CheckpointError(
            f"{source} does not record the normalization (mean/std) its images were trained with, so the model "
            "cannot be fed correctly. Checkpoints written by this version of `litlab fit` record it; train (or "
            "resume for one more epoch) to write one, or set data.init_args.mean and std in the config."
        )
    return preprocessing


def for_new_inputs(checkpoint: str) -> tuple[Preprocessing, dict[str, Any]]:
    """For `litlab predict --inputs`: the checkpoint's complete record, and the task's sizes (`TASK_SIZES`, as the
    task saved them) for the data module that replaces the training one to link into the task again."""
    saved = read_checkpoint(checkpoint, mmap=True)
    record = from_checkpoint(saved)
    if record is None:
        raise CheckpointError(
            f"{checkpoint} was written before litlab recorded how its inputs were prepared, so new inputs cannot "
            "be prepared the same way. Predict with the training data's config instead (no --inputs)."
        )
    hparams = saved.get("hyper_parameters") or {}
    return require_complete(record, str(checkpoint)), {name: hparams[name] for name in TASK_SIZES if name in hparams}
