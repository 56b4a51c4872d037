"""Turn a checkpoint of `litlab fit` into a deployable model plus a JSON sidecar that says how to feed it.

Formats:
  torchscript  `torch.jit.trace`; deprecated in torch 2.x but still loadable from C++ (`torch::jit::load`).
  onnx         torch's torch.export-based ONNX exporter (needs the `onnx` and `onnxscript` packages).
  pt2          `torch.export.save`, the format torch now recommends; load with `torch.export.load(f).module()`.

What is exported is the task's backbone in eval mode (a task's `forward` is its backbone). It takes the
*normalized* float32 batch of shape (B, *input_shape), exactly what the data module's eval transforms yield,
and returns logits (B, num_classes), or predictions (B, num_outputs) for regression. Normalization is not
inside the model: the sidecar's `preprocessing` says how to prepare inputs, from the record the checkpoint
carries (`litlab.data.preprocessing`): for images the size, colour mode and the mean/std the training data
was normalized with (measured ones included); null mean/std only for inputs fed as they are (synthetic
features). A sidecar that cannot say this (an image model whose statistics were never recorded) is refused
rather than written. The batch dimension is dynamic. `scripts/classify_images.py` shows the whole path.
"""

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import nn

import litlab
import litlab.data  # noqa: F401 - Lightning only rebuilds classes that are already imported
import litlab.tasks  # noqa: F401
from litlab.checkpoints.io import read_checkpoint
from litlab.command.errors import CheckpointError, LitlabError
from litlab.data.preprocessing import Preprocessing, from_checkpoint, of_datamodule, require_complete

Writer = Callable[[nn.Module, torch.Tensor, Path], None]


def read_litlab_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint's dict (see `read_checkpoint`), refused when `litlab fit` did not write it."""
    checkpoint = read_checkpoint(path)
    if "_class_path" not in (checkpoint.get("hyper_parameters") or {}):
        raise CheckpointError(f"{path} was not written by `litlab fit`: it holds no LightningCLI hyperparameters")
    return checkpoint


def load_checkpoint(
    ckpt_path: str | Path, with_datamodule: bool = True
) -> tuple[L.LightningModule, L.LightningDataModule | None]:
    """The task (on CPU, eval mode) and the data module a LightningCLI run saved in `ckpt_path`.

    The data module is only constructed from its saved hyperparameters; no data is read or downloaded.
    It is None when the checkpoint holds no data module hyperparameters, or `with_datamodule` is False.
    """
    path = Path(ckpt_path)
    checkpoint = read_litlab_checkpoint(path)
    module = L.LightningModule.load_from_checkpoint(path, map_location="cpu", weights_only=True).eval()
    datamodule = None
    if with_datamodule and "_class_path" in checkpoint.get("datamodule_hyper_parameters", {}):
        datamodule = L.LightningDataModule.load_from_checkpoint(path, map_location="cpu", weights_only=True)
    return module, datamodule


def _to_torchscript(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit.* is deprecated", category=FutureWarning)
        torch.jit.trace(model, example).save(str(path))


def _to_onnx(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    try:
        import onnxscript  # noqa: F401 - the torch.export-based exporter needs it
    except ImportError as error:
        raise LitlabError("ONNX export needs onnx and onnxscript: pip install 'litlab[export]'") from error
    torch.onnx.export(
        model,
        (example,),
        str(path),
        dynamo=True,
        external_data=False,  # one self-contained file; fine below the 2 GB protobuf limit
        input_names=["input"],
        output_names=["output"],
        dynamic_shapes=({0: torch.export.Dim("batch")},),
        verbose=False,
    )


def _to_pt2(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    program = torch.export.export(model, (example,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(program, path)


# format -> (file suffix, writer, how to load the file)
FORMATS: dict[str, tuple[str, Writer, str]] = {
    "torchscript": (".ts.pt", _to_torchscript, "torch.jit.load(path)"),
    "onnx": (".onnx", _to_onnx, "onnxruntime.InferenceSession(path); input name 'input'"),
    "pt2": (".pt2", _to_pt2, "torch.export.load(path).module()"),
}


def describe(
    module: L.LightningModule, datamodule: L.LightningDataModule | None, preprocessing: Preprocessing | None = None
) -> dict[str, Any]:
    """What a user of the exported model needs to know: shapes, classes and preprocessing (the checkpoint's
    record when given, else the data module's own description)."""
    hparams = module.hparams
    if preprocessing is None:
        preprocessing = of_datamodule(datamodule)
    mean, std, class_names = preprocessing.mean, preprocessing.std, preprocessing.class_names
    return {
        "task": hparams.get("_class_path", type(module).__module__ + "." + type(module).__qualname__),
        "backbone": type(module.backbone).__module__ + "." + type(module.backbone).__qualname__,
        "input_shape": list(hparams["input_shape"]),
        "input": "float32 (batch, *input_shape), already normalized: (x - mean) / std per channel for images "
        "scaled to [0, 1]; used as is where mean/std are null",
        "mean": list(mean) if mean is not None else None,
        "std": list(std) if std is not None else None,
        "output": "logits (batch, num_classes)" if "num_classes" in hparams else "predictions (batch, num_outputs)",
        "num_classes": hparams.get("num_classes"),
        "num_outputs": hparams.get("num_outputs", hparams.get("num_classes")),
        "class_names": list(class_names) if class_names is not None else None,
        "preprocessing": sidecar_preprocessing(preprocessing),
    }


def sidecar_preprocessing(preprocessing: Preprocessing) -> dict[str, Any]:
    """The steps from a raw input to the model's input, spelled out for code without litlab."""
    if preprocessing.kind == "table":
        raise CheckpointError(
            "this model was trained on a table: its inputs are standardised and one-hot encoded with statistics "
            "the export sidecar cannot describe yet, and a sidecar saying 'used as they are' would be wrong. "
            "Use `litlab predict --ckpt_path ... --inputs <file.csv>`-style prediction through litlab instead."
        )
    if preprocessing.kind != "image":
        return {"kind": preprocessing.kind, "steps": "float32 features of input_shape, used as they are"}
    return {
        "kind": "image",
        "color_mode": "L" if preprocessing.grayscale else "RGB",
        "image_size": list(preprocessing.image_size),
        "resize": preprocessing.resize,
        "mean": list(preprocessing.mean),
        "std": list(preprocessing.std),
        "steps": "decode as color_mode; resize to image_size (height, width) if resize, else the image must have "
        "that size; channels first; divide by 255; subtract mean and divide by std per channel",
    }


def export(ckpt_path: str | Path, format: str = "torchscript", out_dir: str | Path | None = None) -> tuple[Path, Path]:
    """Write `<out_dir>/<checkpoint stem><suffix>` and its sidecar `<that file>.json`; return both paths.

    `out_dir` defaults to the checkpoint's folder.
    """
    if format not in FORMATS:
        raise LitlabError(f"unknown export format {format!r}; choose one of {', '.join(FORMATS)}")
    checkpoint = read_litlab_checkpoint(Path(ckpt_path))
    recorded = from_checkpoint(checkpoint)  # then the training data need not be here
    module, datamodule = load_checkpoint(ckpt_path, with_datamodule=recorded is None)
    suffix, write, loader = FORMATS[format]
    ckpt_path = Path(ckpt_path).resolve()
    preprocessing = require_complete(recorded or of_datamodule(datamodule), str(ckpt_path))
    info = describe(module, datamodule, preprocessing)  # before writing anything: it may refuse
    out = Path(out_dir) if out_dir is not None else ckpt_path.parent
    out.mkdir(parents=True, exist_ok=True)
    model_path = out / f"{ckpt_path.stem}{suffix}"
    example = torch.randn(2, *info["input_shape"])  # batch 2: torch.export specializes sizes 0 and 1
    write(module.backbone, example, model_path)

    sidecar = {
        "format": format,
        "model_file": model_path.name,
        "load_with": loader,
        **info,
        "source_checkpoint": str(ckpt_path),
        "epoch": checkpoint.get("epoch"),
        "global_step": checkpoint.get("global_step"),
        "versions": {"litlab": litlab.__version__, "torch": torch.__version__, "lightning": L.__version__},
    }
    sidecar_path = model_path.with_name(model_path.name + ".json")
    sidecar_path.write_text(json.dumps(sidecar, indent=2) + "\n")
    return model_path, sidecar_path
