"""CPU step time of AirbenchNet as shipped, whose float32 BatchNorm shift promotes every normalised bf16
activation to float32 under autocast, against a candidate that adds the shift in the activation's dtype.

    python benchmarks/norm_dtype_ab.py --size 32      # prints candidate / shipped step time; RESULTS.md quotes it

Both networks start from the same weights and train in one process, their steps alternated, so a slow spell of a
shared host slows both alike; the figure is the median over the pairs of candidate / shipped. The candidate is not
shipped: under torch.compile on the CPU its gradients are NaN from the first step (RESULTS.md, issue #17's section).
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ sits in the checkout, not in litlab

from benchmarks.litlab_api import AirbenchNet, Norm  # noqa: E402


class ActivationDtypeNorm(Norm):
    """The candidate: scale and shift in the activation's dtype, so a bf16 activation stays bf16."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stats(x)
        if self.weight is not None:
            x = x * self.weight.to(x.dtype).view(-1, 1, 1)
        return x + (self.bias_gain * self.bias).to(x.dtype).view(-1, 1, 1)


def built(candidate: bool) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    net = AirbenchNet((3, 32, 32), 10, widths=(24, 96, 96))  # configs/cifar10_fast_cpu.yaml's widths
    if candidate:
        for module in net.modules():
            if type(module) is Norm:
                module.__class__ = ActivationDtypeNorm
    net = net.to(memory_format=torch.channels_last)
    return net, torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.85, nesterov=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=32, help="image side (the 5-minute recipe trains at 24 and 32)")
    parser.add_argument("--pairs", type=int, default=65)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    nets = {"shipped": built(candidate=False), "candidate": built(candidate=True)}
    x = torch.randn(256, 3, args.size, args.size).to(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (256,))
    seconds: dict[str, list[float]] = {"shipped": [], "candidate": []}
    for pair in range(5 + args.pairs):  # 5 warm-up pairs
        for name in ("shipped", "candidate") if pair % 2 else ("candidate", "shipped"):
            net, optimizer = nets[name]
            start = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = F.cross_entropy(net(x), y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if pair >= 5:
                seconds[name].append(time.perf_counter() - start)
    ratio = statistics.median(c / s for s, c in zip(seconds["shipped"], seconds["candidate"], strict=True))
    shipped_ms, candidate_ms = (1000 * statistics.median(seconds[name]) for name in ("shipped", "candidate"))
    print(
        f"{args.size}x{args.size}, batch 256, {args.threads} threads, {args.pairs} pairs: shipped median"
        f" {shipped_ms:.1f} ms, candidate median {candidate_ms:.1f} ms, candidate / shipped per pair: {ratio:.3f}"
    )


if __name__ == "__main__":
    main()
