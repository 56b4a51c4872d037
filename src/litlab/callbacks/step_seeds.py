"""Random numbers that depend on where training is, not on how it got there: what makes a resumed run exact.

Lightning restores weights, optimizer, schedulers and loop counters from a checkpoint, but not the random
number generators, nor where a plain DataLoader was in its epoch; and a resumed run creates its first
training iterator at start-up, not where the uninterrupted run created it. So a run killed and resumed
shuffles and drops out differently from the run that was never interrupted. `StepSeeds` derives every
random stream from the run's seed (the one `seed_everything` set; without one it does nothing) and a
position:

* the training order from (seed, epoch): the loader's `RandomSampler` gets its own generator, seeded at
  the start of each epoch (a `DistributedSampler` already shuffles by seed and epoch); resumed mid-epoch,
  the batches the checkpoint had already trained on are skipped (a `litlab.data.DeviceLoader` too);
  a DataLoader with workers gets its first epoch's iterator made again once these are set;
* torch (CPU and CUDA), numpy and `random` from (seed, epoch) where each epoch's iterator is created
  (this seeds DataLoader workers), and from (seed, global step) before every training step (dropout).

With it, weights and validation/test metrics of a resumed run equal the uninterrupted run's. Not
reproduced: epoch-level *training* metrics of the epoch a mid-epoch checkpoint interrupted (they cover
the batches after the resume only); random augmentation in the main process (`num_workers: 0`) for the
first batch after a resume; random augmentation in workers after a mid-epoch resume, or with
`persistent_workers: true` (workers keep their random state across epochs).
"""

import hashlib
import itertools
import os
import random
from collections.abc import Iterator
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import BatchSampler, RandomSampler, Sampler

EPOCH, STEP, ORDER = 1, 2, 3  # kinds of stream, so that epoch 3, step 3 and shuffle 3 differ


class SkipFirst(Sampler[int]):
    """`sampler`'s indices without the first `count`: the part of an epoch a mid-epoch checkpoint had not seen."""

    def __init__(self, sampler: Sampler[int], count: int) -> None:
        self.sampler, self.count = sampler, count

    def __iter__(self) -> Iterator[int]:
        return itertools.islice(iter(self.sampler), self.count, None)

    def __len__(self) -> int:
        return len(self.sampler)  # Lightning counts the epoch's batches from here and stops where the iterator does


class StepSeeds(L.Callback):
    """Seeds the shuffle order and every RNG from the run's seed and the epoch or step it is at."""

    def __init__(self) -> None:
        self._base: int | None = None
        self._resume_at_batch = 0  # batches of the current epoch a mid-epoch checkpoint had already trained on
        self._first_epoch = True  # the fit's first epoch, whose iterator Lightning made before any hook ran

    def _derive(self, kind: int, position: int) -> int:
        """A 32-bit seed (numpy's limit) hashed from (run seed, kind, position); cheaper per step than
        numpy's SeedSequence, which this replaced."""
        assert self._base is not None
        key = f"{self._base},{kind},{position}".encode()
        return int.from_bytes(hashlib.blake2b(key, digest_size=4).digest(), "little")

    def _seed_globals(self, kind: int, position: int) -> None:
        if self._base is None:
            return
        seed = self._derive(kind, position)
        # Not torch.manual_seed: where CUDA has not started (a CPU run) it queues lazy seeding calls for
        # CUDA and other accelerators, each recording a stack trace, on every step.
        torch.default_generator.manual_seed(seed)
        if torch.cuda.is_initialized():
            torch.cuda.manual_seed_all(seed)
        np.random.seed(seed)
        random.seed(seed)

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        seed = os.environ.get("PL_GLOBAL_SEED")
        self._base = int(seed) if seed is not None else None
        if stage == "fit":
            self._first_epoch = True
            self._seed_globals(EPOCH, 0)  # a fresh run creates epoch 0's iterator while configuring optimizers

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        # The resumed run creates its first iterator right after this; the loops are not restored yet.
        batches = checkpoint.get("loops", {}).get("fit_loop", {}).get("epoch_loop.batch_progress", {})
        finished = bool(batches.get("is_last_batch"))
        self._resume_at_batch = 0 if finished else int(batches.get("current", {}).get("processed", 0))
        self._seed_globals(EPOCH, checkpoint.get("epoch", 0) + int(finished))

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._resume_at_batch:  # resumed mid-epoch: Lightning does not call on_train_epoch_start
            self._seed_globals(EPOCH, trainer.current_epoch)
            self._set_order(trainer, skip_batches=self._resume_at_batch)
            self._renew_worker_iterator(trainer)
            self._resume_at_batch = 0

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._seed_globals(EPOCH, trainer.current_epoch)
        self._set_order(trainer, skip_batches=0)
        self._renew_worker_iterator(trainer)

    def _renew_worker_iterator(self, trainer: L.Trainer) -> None:
        """A DataLoader with workers reads its sampler and seeds its workers when its iterator is made, which for
        a fit's first epoch (fresh or resumed) Lightning does while configuring optimizers, before these hooks
        could seed anything; make that epoch's iterator again, now, as Lightning does for every later epoch."""
        first, self._first_epoch = self._first_epoch, False
        loader = trainer.train_dataloader
        fetcher = getattr(trainer.fit_loop, "_data_fetcher", None)
        if first and self._base is not None and getattr(loader, "num_workers", 0) > 0 and fetcher is not None:
            iter(fetcher)

    def _set_order(self, trainer: L.Trainer, skip_batches: int) -> None:
        """Seed this epoch's shuffle; the batch sampler reads it when the epoch's first batch is fetched."""
        batch_sampler = getattr(trainer.train_dataloader, "batch_sampler", None)
        if skip_batches and hasattr(trainer.train_dataloader, "skip_batches"):  # litlab.data.DeviceLoader
            trainer.train_dataloader.skip_batches = skip_batches
        if self._base is None or not isinstance(batch_sampler, BatchSampler):
            return
        if isinstance(batch_sampler.sampler, SkipFirst):
            batch_sampler.sampler = batch_sampler.sampler.sampler
        if isinstance(batch_sampler.sampler, RandomSampler):
            order = self._derive(ORDER, trainer.current_epoch)
            batch_sampler.sampler.generator = torch.Generator().manual_seed(order)
        if skip_batches:
            batch_sampler.sampler = SkipFirst(batch_sampler.sampler, skip_batches * batch_sampler.batch_size)

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._seed_globals(STEP, trainer.global_step)
