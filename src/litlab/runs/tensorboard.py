"""Lightning's TensorBoardLogger, except that a new run claims its `version_<N>` folder atomically.

Lightning picks the next version by listing `version_*` folders and taking the highest number plus one;
the folder itself appears later, when something is first written. Two runs of one experiment started
together (a sweep, an impatient user) both see the same listing, pick the same N and write into one
folder: one run's checkpoints and event files over the other's. Here the version is claimed with
`os.mkdir`, which exactly one process can win for a given name; the loser tries the next number.
An explicit `version` (`--ckpt_path last` sets it to resume into the same run) is used as it is.
Only rank 0 claims: the other processes of a distributed run do not write logs, and Lightning hands
them rank 0's folders.
"""

import os

from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only


class RunTensorBoardLogger(TensorBoardLogger):
    """TensorBoardLogger whose new `version_<N>` folder is created by `os.mkdir` when the version is chosen."""

    def _get_next_version(self) -> int:
        version = super()._get_next_version()
        if rank_zero_only.rank != 0 or not self._is_local():
            return version
        os.makedirs(self.root_dir, exist_ok=True)
        while True:
            try:
                os.mkdir(os.path.join(self.root_dir, f"version_{version}"))
                return version
            except FileExistsError:
                version += 1  # another run took it between the listing and now

    def _is_local(self) -> bool:
        return "://" not in str(self.root_dir)
