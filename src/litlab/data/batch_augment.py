"""Per-sample image augmentation applied to a whole uint8 batch at once, as tensor ops on the batch's device.

The textbook path augments one PIL image at a time in DataLoader workers; here a batch of 512 images is
cropped and flipped with a handful of tensor ops, so the data never leaves the training device.

Every random choice is drawn once per epoch for the whole dataset (`plan`) from a CPU generator seeded from
seed + epoch, and then indexed by dataset index. What an image looks like in an epoch therefore depends on
(seed, epoch, index) only: not on the device, the batch size or how the data is sharded across ranks.
"""

from dataclasses import dataclass
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F


class AugmentPlan(NamedTuple):
    """One epoch's random choices, one row per dataset sample, on the data's device."""

    offsets: torch.Tensor  # (N, 2) crop shift (dy, dx) in [-padding, padding]
    flips: torch.Tensor  # (N,) bool: mirror left-right
    cutout_centers: torch.Tensor  # (N, 2) centre (y, x) of the erased square


@dataclass(frozen=True)
class BatchAugment:
    """Random crop with padding (a random translation), horizontal flip and optional cutout.

    Args:
        crop_padding: pad each side by this many pixels, then crop back to the original size at a
            random offset, i.e. translate by up to `crop_padding` pixels in each direction. 0 turns it off.
            Default (null): 1/16 of the shorter side: 8-pixel images are not shifted, 16-pixel ones by 1, 32-pixel
            ones by 2 (airbench's CIFAR-10 shift; the classic CIFAR recipe's 4 is set by CIFAR-10's data module and
            configs). Mild on purpose: a default cannot know how much shifting the images bear, and on 8x8 digits
            even a 1-pixel shift costs points (benchmarks/RESULTS.md, "Image defaults").
        padding_mode: fill the border with zeros (black, as torchvision's `RandomCrop(padding=...)`) or with
            the mirrored image ("reflect", as airbench).
        flip: "none" (the default) never mirrors; "random" mirrors each image with probability 1/2 every
            epoch; "alternate" mirrors a random half in even epochs and exactly the other half in odd ones
            (airbench's alternating flip, so every image is seen both ways within two epochs). Off by default
            because a mirror image is often another class or none (digits, letters, text, arrows); turn it on
            for photos whose classes look the same mirrored (CIFAR-10's configs and data module do).
        cutout: side of a square set to 0 after normalization (i.e. to the mean), centred at a random pixel
            and clipped at the border (DeVries & Taylor, 2017). 0 turns it off.
        epoch_sizes: progressive resizing: in epoch e, training batches are scaled (bilinear, antialiased) to
            `epoch_sizes[e]` pixels square after the other augmentations; epochs past the end of the list train
            at full size. Small early epochs buy more epochs for the same compute (a 24x24 AirbenchNet epoch
            takes about 0.6 of the time of a 32x32 one on the CPU); the model must take any image size, as networks that
            pool globally do. Empty (the default) turns it off.
    """

    crop_padding: int | None = None
    padding_mode: Literal["zeros", "reflect"] = "zeros"
    flip: Literal["random", "alternate", "none"] = "none"
    cutout: int = 0
    epoch_sizes: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "epoch_sizes", tuple(self.epoch_sizes))  # a YAML list compares equal to the default
        if any(size < 1 for size in self.epoch_sizes):
            raise ValueError(f"epoch_sizes must be positive image sides, got {list(self.epoch_sizes)}")

    def padding_for(self, image_size: tuple[int, int]) -> int:
        """The crop padding for images of this (height, width): `crop_padding`, or 1/16 of the shorter side."""
        return self.crop_padding if self.crop_padding is not None else min(image_size) // 16

    def plan(
        self, num_samples: int, image_size: tuple[int, int], generator: torch.Generator, seed: int, epoch: int
    ) -> AugmentPlan:
        """Draw one epoch's choices from `generator` (the loader's, seeded from seed + epoch)."""
        pad = self.padding_for(image_size)
        offsets = torch.randint(-pad, pad + 1, (num_samples, 2), generator=generator)
        if self.flip == "alternate":
            # The base half must not change between epochs: draw it from "epoch -1", a seed no epoch uses.
            base = torch.rand(num_samples, generator=torch.Generator().manual_seed(seed - 1)) < 0.5
            flips = base ^ bool(epoch % 2)
        else:
            flips = (torch.rand(num_samples, generator=generator) < 0.5) & (self.flip == "random")
        height, width = image_size
        rows = torch.randint(height, (num_samples,), generator=generator)
        cols = torch.randint(width, (num_samples,), generator=generator)
        return AugmentPlan(offsets, flips, torch.stack([rows, cols], dim=1))

    def crop_flip(self, images: torch.Tensor, plan: AugmentPlan, index: torch.Tensor) -> torch.Tensor:
        """Crop and flip a uint8 batch (B, C, H, W) whose rows are dataset samples `index`."""
        batch, channels, height, width = images.shape
        pad = self.padding_for((height, width))
        device = images.device
        if pad == 0 and self.flip == "none":
            return images
        mode = "reflect" if self.padding_mode == "reflect" else "constant"
        padded = F.pad(images, (pad, pad, pad, pad), mode=mode) if pad else images
        offsets = plan.offsets.index_select(0, index) + pad  # (B, 2): top-left corner of the crop in `padded`
        dy, dx = offsets[:, 0], offsets[:, 1]
        source = torch.arange(batch, device=device)
        if self.flip != "none":
            # Mirrored copies follow the originals; the mirror of the crop at column dx is the crop of the
            # mirrored image at column 2 * pad - dx.
            flips = plan.flips.index_select(0, index)
            padded = torch.cat([padded, padded.flip(3)])
            source = source + batch * flips
            dx = torch.where(flips, 2 * pad - dx, dx)
        # Each output row is a run of `width` consecutive bytes of `padded`. Viewing every such run as a row of an
        # (overlapping) 2-D tensor turns the whole crop into one index_select: a plain copy of rows, which on CPU
        # is many times faster than advanced indexing or gather.
        padded_w = padded.shape[-1]
        plane = padded.shape[-2] * padded_w
        flat = padded.reshape(-1)
        runs = flat.as_strided((flat.numel() - width + 1, width), (1, 1))
        image_start = (source * channels * plane + dx).view(batch, 1, 1)
        channel_start = (torch.arange(channels, device=device) * plane).view(1, channels, 1)
        row_start = ((torch.arange(height, device=device) + dy.view(batch, 1)) * padded_w).view(batch, 1, height)
        start = image_start + channel_start + row_start  # (B, C, H): where each output row begins in `flat`
        return runs.index_select(0, start.view(-1)).view(batch, channels, height, width)

    def erase(self, images: torch.Tensor, plan: AugmentPlan, index: torch.Tensor) -> torch.Tensor:
        """Zero a `cutout`-sized square per image of a normalized float batch, in place."""
        if self.cutout <= 0:
            return images
        height, width = images.shape[-2:]
        centers = plan.cutout_centers.index_select(0, index)
        low = centers - self.cutout // 2  # (B, 2); the square spans [low, low + cutout), clipped by the image
        rows = torch.arange(height, device=images.device).view(1, -1) - low[:, :1]
        cols = torch.arange(width, device=images.device).view(1, -1) - low[:, 1:]
        inside = ((rows >= 0) & (rows < self.cutout))[:, :, None] & ((cols >= 0) & (cols < self.cutout))[:, None, :]
        return images.masked_fill_(inside[:, None], 0.0)

    def resize(self, images: torch.Tensor, epoch: int) -> torch.Tensor:
        """Scale a float batch (B, C, H, W) to this epoch's size from `epoch_sizes`; unchanged when there is none."""
        if epoch >= len(self.epoch_sizes) or self.epoch_sizes[epoch] == images.shape[-1] == images.shape[-2]:
            return images
        side = self.epoch_sizes[epoch]
        return F.interpolate(images, size=(side, side), mode="bilinear", antialias=True, align_corners=False)


# A data module built in Python keeps a BatchAugment in its hyperparameters, and so in every checkpoint;
# allowlisting this plain dataclass lets `torch.load(weights_only=True)` (resume, exporters) read them.
torch.serialization.add_safe_globals([BatchAugment])
