"""The airbench94 network (Keller Jordan, "94% on CIFAR-10 in 3.29 Seconds on a Single GPU", 2024) as a backbone.

A fixed 2x2 convolution whose filters whiten image patches (computed from training images by `init_whitening`),
then three conv groups and a max-pool + linear head with scaled-down logits. airbench reports 94.0% CIFAR-10 test
accuracy for this network after 9.9 epochs of the schedule that configs/cifar10_fast.yaml follows.

Recipe details kept here: BatchNorm with fast running statistics and a tiny eps, its scale frozen at 1;
3x3 convs start as partial identities; and BatchNorm shifts learn 64x faster than everything else (see `Norm`).
"""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class Norm(nn.Module):
    """BatchNorm statistics, then a learned per-channel shift and (optionally) scale.

    The shift is stored divided by sqrt(bias_lr_scale) and multiplied back in `forward`. Under SGD with weight
    decay that trains it exactly like a plain shift with `bias_lr_scale` times the learning rate (and the same
    decay per step), which is how airbench treats BN biases, without a separate optimizer param group.
    The statistics live in a plain `nn.BatchNorm2d`, so `sync_batchnorm` can convert it.
    """

    def __init__(
        self, channels: int, momentum: float, eps: float, learn_scale: bool = False, bias_lr_scale: float = 1.0
    ) -> None:
        super().__init__()
        self.stats = nn.BatchNorm2d(channels, eps=eps, momentum=momentum, affine=False)
        self.weight = nn.Parameter(torch.ones(channels)) if learn_scale else None
        self.bias = nn.Parameter(torch.zeros(channels))
        self.bias_gain = bias_lr_scale**0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stats(x)
        if self.weight is not None:
            x = x * self.weight.view(-1, 1, 1)
        return x + self.bias_gain * self.bias.view(-1, 1, 1)


def identity_conv(c_in: int, c_out: int) -> nn.Conv2d:
    """3x3 'same' conv whose first min(c_in, c_out) filters start as the identity; the rest keep PyTorch's init."""
    conv = nn.Conv2d(c_in, c_out, 3, padding="same", bias=False)
    with torch.no_grad():
        nn.init.dirac_(conv.weight[:c_in])
    return conv


class ConvGroup(nn.Module):
    """conv -> 2x2 max-pool -> norm -> GELU -> conv -> norm -> GELU: halves the resolution."""

    def __init__(self, c_in: int, c_out: int, **norm_options: float | bool) -> None:
        super().__init__()
        self.conv1 = identity_conv(c_in, c_out)
        self.pool = nn.MaxPool2d(2)
        self.norm1 = Norm(c_out, **norm_options)
        self.conv2 = identity_conv(c_out, c_out)
        self.norm2 = Norm(c_out, **norm_options)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.norm1(self.pool(self.conv1(x))))  # (B, c_out, H/2, W/2)
        return F.gelu(self.norm2(self.conv2(x)))


class AirbenchNet(nn.Module):
    """whiten (2x2, frozen) -> GELU -> 3 conv groups -> global max-pool -> linear * logit_scale.

    Args:
        input_shape: (channels, height, width) of one image, at least 16x16.
        num_outputs: number of classes.
        widths: output channels of the three conv groups.
        bn_momentum: PyTorch-convention BatchNorm momentum (weight of the new batch); airbench's 0.6 is 0.4 here.
        bn_eps: BatchNorm eps.
        bn_scale: learn a BatchNorm scale; the recipe keeps it frozen at 1.
        bn_bias_lr_scale: how much faster BatchNorm shifts train under SGD (airbench's bias_scaler); 1 turns it off.
        logit_scale: multiplies the logits.
        whiten_eps: added to the patch-covariance eigenvalues before dividing by their square roots.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        widths: Sequence[int] = (64, 256, 256),
        bn_momentum: float = 0.4,
        bn_eps: float = 1e-12,
        bn_scale: bool = False,
        bn_bias_lr_scale: float = 64.0,
        logit_scale: float = 1 / 9,
        whiten_eps: float = 5e-4,
    ) -> None:
        super().__init__()
        channels, kernel = input_shape[0], 2
        whiten_width = 2 * channels * kernel**2  # each whitening filter and its negative
        self.whiten = nn.Conv2d(channels, whiten_width, kernel, padding=0, bias=True)
        self.whiten.weight.requires_grad_(False)  # set from data by init_whitening; only its bias trains
        nn.init.zeros_(self.whiten.bias)
        norm = {"momentum": bn_momentum, "eps": bn_eps, "learn_scale": bn_scale, "bias_lr_scale": bn_bias_lr_scale}
        ins = [whiten_width, *widths[:-1]]
        self.groups = nn.Sequential(*(ConvGroup(c_in, c_out, **norm) for c_in, c_out in zip(ins, widths, strict=True)))
        self.head = nn.Linear(widths[-1], num_outputs, bias=False)
        self.logit_scale = logit_scale
        self.whiten_eps = whiten_eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.whiten(x))  # (B, 24, H-1, W-1) for RGB
        x = self.groups(x)  # (B, widths[-1], (H-1)/8, (W-1)/8), 3x3 for 32x32 images
        x = torch.amax(x, dim=(2, 3))  # (B, widths[-1])
        return self.head(x) * self.logit_scale  # (B, num_outputs)

    @torch.no_grad()
    def init_whitening(self, images: torch.Tensor, chunk: int = 512) -> None:
        """Set the whitening filters so their outputs have identity second moment on the patches of `images`.

        `images` (N, C, H, W) should be normalized training images (mean about 0, so the second moment is the
        covariance). With eigen-decomposition cov = V diag(lambda) V^T, the filters are the rows of
        V^T / sqrt(lambda + eps) and their negatives (GELU passes only one sign of each). Computed in float64 on
        the CPU, so every process given the same images sets bit-identical weights.
        """
        kernel = self.whiten.kernel_size
        patch_dim = self.whiten.in_channels * kernel[0] * kernel[1]
        second_moment = torch.zeros(patch_dim, patch_dim, dtype=torch.float64)
        count = 0
        for part in images.detach().cpu().double().split(chunk):
            patches = F.unfold(part, kernel).transpose(1, 2).reshape(-1, patch_dim)  # (n * positions, C*kh*kw)
            second_moment += patches.T @ patches
            count += len(patches)
        eigenvalues, eigenvectors = torch.linalg.eigh(second_moment / count)  # ascending; columns are vectors
        filters = eigenvectors.T / torch.sqrt(eigenvalues + self.whiten_eps).unsqueeze(1)  # (patch_dim, patch_dim)
        filters = filters.flip(0).reshape(patch_dim, -1, *kernel)  # largest-variance direction first
        weight = self.whiten.weight
        weight.copy_(torch.cat([filters, -filters]).to(weight.device, weight.dtype))
        self.whiten.bias.zero_()
