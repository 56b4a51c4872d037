"""CPU step time of AirbenchNet with its BatchNorm shift added in the activation's dtype (shipped) against the
float32 shift it had before 2026-12-01, which promoted every normalised bf16 activation to float32.

    python benchmarks/norm_dtype_ab.py --size 32      # prints new / old step time; RESULTS.md quotes it by hand

Both networks start from the same weights and train in one process, their steps alternated, so a slow spell of a
shared host slows both alike; the figure is the median over the pairs of new / old.
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


class Float32ShiftNorm(Norm):
    """The old `Norm.forward`: the float32 shift promotes a bf16 activation to float32."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stats(x) + self.bias_gain * self.bias.view(-1, 1, 1)


def built(old: bool) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    net = AirbenchNet((3, 32, 32), 10, widths=(24, 96, 96))  # configs/cifar10_fast_cpu.yaml's widths
    if old:
        for module in net.modules():
            if type(module) is Norm:
                module.__class__ = Float32ShiftNorm
    net = net.to(memory_format=torch.channels_last)
    return net, torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.85, nesterov=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=32, help="image side (the 5-minute recipe trains at 24 and 32)")
    parser.add_argument("--pairs", type=int, default=65)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    nets = {"old": built(old=True), "new": built(old=False)}
    x = torch.randn(256, 3, args.size, args.size).to(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (256,))
    seconds: dict[str, list[float]] = {"old": [], "new": []}
    for pair in range(5 + args.pairs):  # 5 warm-up pairs
        for name in ("old", "new") if pair % 2 else ("new", "old"):
            net, optimizer = nets[name]
            start = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = F.cross_entropy(net(x), y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if pair >= 5:
                seconds[name].append(time.perf_counter() - start)
    ratios = [new / old for old, new in zip(seconds["old"], seconds["new"], strict=True)]
    old_ms, new_ms = (1000 * statistics.median(seconds[name]) for name in ("old", "new"))
    print(f"{args.size}x{args.size}, batch 256, {args.threads} threads, {args.pairs} pairs: old median {old_ms:.1f} ms,"
          f" new median {new_ms:.1f} ms, new / old per pair: median {statistics.median(ratios):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
