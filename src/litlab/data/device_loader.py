"""A data loader for datasets that fit in device memory: uint8 images stay on the training device, batches are
gathered, augmented and normalized there with tensor ops. No workers, no PIL, no host-to-device copy per batch.

It is a plain iterable with `__len__`, so a DataModule's `*_dataloader()` returns it and the Trainer consumes it
as it would a DataLoader. Lightning injects no DistributedSampler into it; it shards itself by rank:

- training: one permutation per epoch, seeded from seed + epoch and identical on every rank; its tail is cut to
  a multiple of `world_size`, and rank r takes every world_size-th index from r. Shards are disjoint and equal.
- evaluation: no shuffle, no augmentation, every sample exactly once over all ranks and no padding duplicates.
  Rank r takes every world_size-th sample from r, in full batches; a rank one sample short of the others splits
  its last batch in two, so all ranks take equally many steps and collectives inside a step cannot hang.

Lightning calls `set_epoch(epoch)` on `dataloader.sampler` before every training epoch, with the epoch restored
from a checkpoint on resume; `sampler` is this loader itself, so a resumed run replays the same shuffles.
"""

import math
from collections.abc import Iterator, Sequence

import torch

from litlab.data.batch_augment import AugmentPlan, BatchAugment

Batch = tuple[torch.Tensor, torch.Tensor]


class DeviceLoader:
    """Batches of (normalized float images, int64 labels) from uint8 images held on `device`.

    Args:
        images: (N, C, H, W) uint8.
        labels: (N,) integer class labels.
        batch_size: samples per batch on this rank.
        mean, std: per-channel statistics on the [0, 1] scale; batches are (x / 255 - mean) / std.
        train: shuffle every epoch and apply `augment`; otherwise neither, and every sample once.
        augment: augmentation for training; None for none.
        seed: seeds the shuffle and the augmentation together with the epoch.
        device: where the data lives and batches are made; the Trainer's root device.
        rank, world_size: this process's share in distributed training.
        drop_last: drop this rank's last incomplete training batch.
        channels_last: return batches in channels-last memory format.
    """

    batch_sampler = None  # present so Lightning's sampler lookups find `sampler` below and nothing else

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        mean: Sequence[float],
        std: Sequence[float],
        *,
        train: bool = False,
        augment: BatchAugment | None = None,
        seed: int = 0,
        device: torch.device | str | None = None,
        rank: int = 0,
        world_size: int = 1,
        drop_last: bool = False,
        channels_last: bool = False,
    ) -> None:
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError(f"images must be uint8 (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
        if labels.shape != images.shape[:1]:
            raise ValueError(f"labels must be ({len(images)},), got {tuple(labels.shape)}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, {world_size})")
        self.device = torch.device(device) if device is not None else images.device
        self.images = images.to(self.device).contiguous()  # batch gathers and crops assume NCHW rows
        self.labels = labels.to(self.device, torch.int64)
        channels = images.shape[1]
        std_t = torch.tensor(std, dtype=torch.float32, device=self.device).view(1, channels, 1, 1)
        mean_t = torch.tensor(mean, dtype=torch.float32, device=self.device).view(1, channels, 1, 1)
        self.scale, self.shift = 1.0 / (255.0 * std_t), mean_t / std_t
        self.batch_size = batch_size
        self.train = train
        self.augment = augment if train else None
        self.seed = seed
        self.rank, self.world_size = rank, world_size
        self.drop_last = drop_last
        self.channels_last = channels_last
        self.epoch = 0
        self.skip_batches = 0  # leave out the next epoch's first batches (set by StepSeeds on a mid-epoch resume)

    @property
    def sampler(self) -> "DeviceLoader":
        return self  # Lightning calls `dataloader.sampler.set_epoch(epoch)` each epoch

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _shard_size(self) -> int:
        count = len(self.images)
        return count // self.world_size if self.train else math.ceil(count / self.world_size)

    def __len__(self) -> int:
        size = self._shard_size()
        return size // self.batch_size if self.train and self.drop_last else math.ceil(size / self.batch_size)

    def _batches(self, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """This rank's dataset indices, on the device, split into batches."""
        count, batches = len(self.images), len(self)
        if batches == 0:
            return ()
        if not self.train:
            share = torch.arange(self.rank, count, self.world_size, device=self.device)
            sizes = [self.batch_size] * (batches - 1) + [len(share) - self.batch_size * (batches - 1)]
            if sizes[-1] == 0 and batches > 1:  # one sample short of the other ranks: split the last batch
                sizes[-2:] = [self.batch_size - 1, 1]
            return tuple(part for part in share.split(sizes) if len(part))
        order = torch.randperm(count, generator=generator)[: self._shard_size() * self.world_size]
        return order[self.rank :: self.world_size].to(self.device).split(self.batch_size)[:batches]

    def __iter__(self) -> Iterator[Batch]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        batches = self._batches(generator)[self.skip_batches :]
        self.skip_batches = 0
        plan = None
        if self.augment is not None:
            drawn = self.augment.plan(len(self.images), self.images.shape[-2:], generator, self.seed, self.epoch)
            plan = AugmentPlan(*(t.to(self.device) for t in drawn))
        for index in batches:
            yield self._make_batch(index, plan), self.labels.index_select(0, index)

    def _make_batch(self, index: torch.Tensor, plan: AugmentPlan | None) -> torch.Tensor:
        images = self.images.index_select(0, index)  # on CPU much faster than images[index]
        if plan is not None:
            images = self.augment.crop_flip(images, plan, index)
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)  # cheaper on uint8; float keeps it
        x = images.float().mul_(self.scale).sub_(self.shift)
        if plan is None:
            return x
        x = self.augment.resize(self.augment.erase(x, plan, index), self.epoch)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x
