"""Checkpoint files that are never half-written, and that load without running pickled code.

Lightning 2.6's `TorchCheckpointIO` saves through an fsspec transaction: the bytes go to a file made by
`tempfile.mkstemp()` in the *system* temp folder and are moved into place afterwards. When that folder is
on another filesystem than the logs (a tmpfs /tmp, a network home), the move is a copy that a crash can
cut short, so the only `last.ckpt` may end up truncated; nothing is fsync'd, and a killed process leaves
its temp file behind. `AtomicCheckpointIO` writes `.<name>.tmp-<pid>` in the target's own folder,
fsyncs it, renames it over the target with `os.replace` (atomic on POSIX) and fsyncs the folder: after
a kill or a power cut the target is either the previous file or the new one. A failed write (disk full)
removes its temp file and raises a `CheckpointError` that says the previous checkpoint is intact.
Remote paths (s3://, gs://, ...) keep Lightning's own behaviour.

Loading defaults to `weights_only=True`: litlab checkpoints hold tensors, numbers, strings and plain
config dicts, so no pickled code has to run to read them.
"""

import contextlib
import errno
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.utilities.types import _PATH
from lightning.pytorch.plugins.io import TorchCheckpointIO

from litlab.command.errors import CheckpointError

TEMP_MARK = ".tmp-"  # temp files are ".<target name>.tmp-<pid>"


def temp_path(target: Path) -> Path:
    return target.with_name(f".{target.name}{TEMP_MARK}{os.getpid()}")


def is_temp_file(path: Path) -> bool:
    return path.name.startswith(".") and TEMP_MARK in path.name


def os_error_of(error: BaseException) -> OSError | None:
    """The OSError behind `error`: torch's zip writer reports ENOSPC as a RuntimeError whose context is it."""
    while error is not None:
        if isinstance(error, OSError):
            return error
        error = error.__cause__ or error.__context__
    return None


def write_atomically(obj: Any, target: Path) -> None:
    """`torch.save(obj)` to `target` so that readers see the old file or the complete new one, never a part."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path(target)
    try:
        with open(temp, "wb") as file:
            torch.save(obj, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, target)
    except BaseException as error:  # KeyboardInterrupt too: never leave the temp file behind
        temp.unlink(missing_ok=True)
        cause = os_error_of(error)
        if cause is None:
            raise
        reason = "no space left on device" if cause.errno in (errno.ENOSPC, errno.EDQUOT) else cause.strerror
        raise CheckpointError(
            f"could not write checkpoint {target}: {reason}. Nothing was overwritten: the checkpoints already in "
            f"{target.parent} are intact.\n"
            "Free some space (or set trainer.logger.init_args.save_dir to another disk), then continue with "
            "`--ckpt_path last`."
        ) from error
    with contextlib.suppress(OSError):  # some filesystems cannot fsync a folder; the rename is still atomic
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # make the rename itself durable
        finally:
            os.close(directory)


def describe_load_error(path: str | Path, error: BaseException) -> str:
    if isinstance(error, pickle.UnpicklingError) and "Unsupported global" in str(error):  # not for garbage bytes
        return (
            f"checkpoint {path} holds Python objects that a weights-only load refuses to run. Load it only if "
            "you trust where it came from, with `--weights_only false`."
        )
    return (
        f"checkpoint {path} is not a readable checkpoint (truncated or corrupt: {str(error).splitlines()[0]}). "
        "Use another checkpoint of that run, or `--ckpt_path last`, which skips unreadable files."
    )


def read_checkpoint(
    path: str | Path, map_location: Any = "cpu", weights_only: bool = True, mmap: bool = False
) -> dict[str, Any]:
    """Every read of a local checkpoint file in litlab: `torch.load` it, or raise a `CheckpointError` that names
    the file and says what to do. `mmap=True` reads only the small pickled part; weights stay on disk until used."""
    if not Path(path).is_file():
        raise CheckpointError(f"checkpoint {path} does not exist.{_checkpoints_beside(Path(path))}")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=weights_only, mmap=mmap)
    except Exception as error:  # torch raises many types for a truncated or foreign file; all mean "unusable"
        raise CheckpointError(describe_load_error(path, error)) from error
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"{path} is not a Lightning checkpoint (it has no `state_dict`).")
    return checkpoint


def is_local(path: _PATH) -> bool:
    return "://" not in str(path) or str(path).startswith("file://")


class AtomicCheckpointIO(TorchCheckpointIO):
    """TorchCheckpointIO with atomic, fsync'd local writes and weights-only loading by default."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None) -> None:
        if storage_options is not None or not is_local(path):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        write_atomically(checkpoint, Path(str(path).removeprefix("file://")))

    def load_checkpoint(
        self,
        path: _PATH,
        map_location: Callable | None = lambda storage, loc: storage,
        weights_only: bool | None = None,
    ) -> dict[str, Any]:
        weights_only = True if weights_only is None else weights_only
        if not is_local(path):
            return super().load_checkpoint(path, map_location, weights_only)
        return read_checkpoint(str(path).removeprefix("file://"), map_location, weights_only)


def _checkpoints_beside(path: Path) -> str:
    """' Checkpoints in <folder>: a.ckpt, b.ckpt.' for the folder a missing checkpoint was looked for in."""
    found = sorted(p.name for p in path.parent.glob("*.ckpt")) if path.parent.is_dir() else []
    if not found:
        return ""
    shown = ", ".join(found[:8]) + (f" and {len(found) - 8} more" if len(found) > 8 else "")
    return f" Checkpoints in {path.parent}: {shown}."
