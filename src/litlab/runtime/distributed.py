"""`strategy: ddp_litlab`: Lightning's DDP, with evaluation that sees every sample once and a bounded wait for peers.

Two things plain `strategy: ddp` gets wrong for research numbers:

* Lightning gives val/test loaders a `DistributedSampler`, which pads the set to a multiple of the
  number of processes by repeating samples: 1001 val images on 2 GPUs are scored as 1002, one of them
  twice. Here evaluation loaders get Lightning's `UnrepeatedDistributedSampler` instead: each sample is
  scored on exactly one process (some processes get one batch fewer, which is safe for evaluation: DDP
  syncs buffers only on the first forward pass after training), and metrics are summed across processes.
  Lightning averages a logged mean's sample count across processes as an integer (127.5 becomes 127),
  which only matters once the counts differ; `reduce` averages integers as floats.
* The process-group timeout (how long a process waits in a collective for the others) defaults to
  30 minutes. Here it is 10: a job whose peer died or hung exits with an error instead of idling. It must
  exceed the longest stretch one process works alone (rank 0 downloading a dataset, writing a large
  checkpoint); for a longer one, use the class directly: `strategy: {class_path:
  litlab.runtime.distributed.ExactEvalDDPStrategy, init_args: {timeout: "0:30:00"}}`.

`sync_batchnorm: true` is honoured on GPUs and switched off (one info line) on CPU processes, where torch's
SyncBatchNorm cannot run: the preset configs/trainer/ddp.yaml then works on both.

Training loaders keep Lightning's padded, shuffled `DistributedSampler` (every process must run the same
number of steps). Importing this module registers the name `ddp_litlab`.
"""

from datetime import timedelta
from typing import Any

import lightning as L
from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSampler
from lightning.pytorch.strategies import DDPStrategy, StrategyRegistry
from lightning.pytorch.trainer.states import RunningStage
from lightning.pytorch.utilities import rank_zero_info
from lightning.pytorch.utilities.data import _update_dataloader  # Lightning's own loader re-instantiation
from torch import Tensor
from torch.distributed import ReduceOp
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.data import DataLoader, DistributedSampler

from litlab.command.errors import ConfigError

STRATEGY_NAME = "ddp_litlab"
PEER_TIMEOUT = timedelta(minutes=10)
EVALUATION = (RunningStage.VALIDATING, RunningStage.SANITY_CHECKING, RunningStage.TESTING)


def _is_mean(op: ReduceOp | str | None) -> bool:
    return op.lower() in ("mean", "avg") if isinstance(op, str) else op == ReduceOp.AVG


class ExactEvalDDPStrategy(DDPStrategy):
    """DDPStrategy whose validation and test loaders score each sample on exactly one process."""

    def __init__(self, *args: Any, timeout: timedelta | None = PEER_TIMEOUT, **kwargs: Any) -> None:
        super().__init__(*args, timeout=timeout, **kwargs)

    def setup(self, trainer: "L.Trainer") -> None:
        if self._layer_sync is not None and self.root_device.type == "cpu":
            # torch's SyncBatchNorm runs on GPUs only: on CPU processes `sync_batchnorm: true` (the ddp preset's
            # setting) would fail at the first training step of any model with BatchNorm.
            self._layer_sync = None
            if any(isinstance(m, _BatchNorm) for m in self.model.modules()):
                rank_zero_info(
                    "sync_batchnorm is off on CPU processes (SyncBatchNorm needs GPUs): each process normalizes "
                    "with its own batch's statistics."
                )
        super().setup(trainer)

    def reduce(self, tensor: Tensor, group: Any | None = None, reduce_op: ReduceOp | str | None = "mean") -> Tensor:
        if isinstance(tensor, Tensor) and not tensor.is_floating_point() and _is_mean(reduce_op):
            tensor = tensor.double()  # Lightning would average the integers in place, truncating
        return super().reduce(tensor, group, reduce_op)

    def process_dataloader(self, dataloader: object) -> object:
        dataloader = super().process_dataloader(dataloader)
        sampler = getattr(dataloader, "sampler", None)
        stage = self.lightning_module.trainer.state.stage
        if stage not in EVALUATION or type(sampler) is not DistributedSampler or sampler.shuffle:
            return dataloader
        assert isinstance(dataloader, DataLoader)
        size = len(sampler.dataset)
        if 0 < size < sampler.num_replicas:
            raise ConfigError(
                f"the {stage.value} set has {size} samples, fewer than the {sampler.num_replicas} processes; "
                "every process needs at least one."
            )
        unpadded = UnrepeatedDistributedSampler(
            sampler.dataset, num_replicas=sampler.num_replicas, rank=sampler.rank, shuffle=False
        )
        return _update_dataloader(dataloader, unpadded, mode=stage)


StrategyRegistry.register(
    STRATEGY_NAME,
    ExactEvalDDPStrategy,
    description="DDP that evaluates each sample exactly once, with a 10-minute peer timeout",
    start_method="popen",
)
