"""Time ResNet-9 training steps on this machine and extrapolate one CIFAR-10 epoch (45k images).

python scripts/time_resnet9_cpu.py [--batch 512] [--steps 5] [--width 64]
"""

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from litlab.models import ResNet9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--width", type=int, default=64)
    args = parser.parse_args()
    model = ResNet9((3, 32, 32), 10, width=args.width)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    x, y = torch.randn(args.batch, 3, 32, 32), torch.randint(0, 10, (args.batch,))
    times = []
    for step in range(args.steps + 1):
        start = time.perf_counter()
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        if step:  # the first step warms up allocators and kernels
            times.append(time.perf_counter() - start)
    per_step = statistics.median(times)
    epoch_min = per_step * 45_000 / args.batch / 60
    print(
        f"ResNet9(width={args.width}) batch {args.batch}, {torch.get_num_threads()} threads: "
        f"{per_step:.2f} s/step (median of {args.steps}), ~{epoch_min:.0f} min per 45k-image epoch"
    )


if __name__ == "__main__":
    main()
