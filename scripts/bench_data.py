"""Images per second of litlab's device-resident data path against the textbook PIL + DataLoader path.

    python scripts/bench_data.py                                  # prints the table
    python scripts/bench_data.py --runs 5 --out benchmarks/RESULTS.md   # and writes its `data` section
    python scripts/bench_data.py --threads 1    # one core per path: the fair per-core comparison

CIFAR-sized data (random uint8, 50,000 x 32 x 32 x 3), batch 512, training mode with random crop (4-pixel
padding) + horizontal flip + normalization on both paths:

- torchvision: one PIL image at a time through `CIFAR10DataModule.transforms(train=True)` (what
  `torchvision.datasets.CIFAR10` does per item), batched by a DataLoader with 0 or more workers;
- memory: `DeviceLoader` over the uint8 tensor on this machine's CPU (on a GPU it runs on the GPU).

The variants run interleaved (one timed run each per round), so drift on a shared machine hits them alike;
speed-ups are per-round ratios. See benchmarks.timing.
"""

import argparse
import itertools
import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: in the checkout, not in litlab

from benchmarks.results import environment_markdown, markdown_table, write_section
from benchmarks.timing import Summary, interleave, ratio

from litlab.data import BatchAugment, CIFAR10DataModule, DeviceLoader
from litlab.data.cifar10 import CIFAR10_MEAN, CIFAR10_STD


class ArrayImages(Dataset):
    """What torchvision's CIFAR10 does per item: uint8 HWC array -> PIL image -> transform."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform: Callable) -> None:
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.transform(Image.fromarray(self.images[index])), int(self.labels[index])


def throughput(loader: Iterable, batches: int) -> Callable[[], float]:
    """A measurement: images per second over `batches` batches of a fresh pass over `loader`.

    The first batch (worker start-up, the epoch's shuffle) is not timed; the pass is dropped afterwards, which
    stops DataLoader workers, so they cannot keep prefetching while the next variant is timed.
    """

    def measure() -> float:
        iterator = iter(loader)
        next(iterator)
        start, images = time.perf_counter(), 0
        for x, _ in itertools.islice(iterator, batches):
            images += len(x)
        elapsed = time.perf_counter() - start
        del iterator
        return images / elapsed

    return measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=50_000, help="dataset size (default: CIFAR-10's 50,000)")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="DataLoader workers to compare")
    parser.add_argument("--pil-batches", type=int, default=10, help="batches per run on the PIL path")
    parser.add_argument("--memory-batches", type=int, default=90, help="batches per run on the memory path")
    parser.add_argument("--runs", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--out", help="Markdown results file to write the `data` section of")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    generator = np.random.default_rng(0)
    images = generator.integers(0, 256, (args.images, 32, 32, 3), dtype=np.uint8)
    labels = generator.integers(0, 10, args.images)
    transform = CIFAR10DataModule(num_workers=0).transforms(train=True)
    variants, names = {}, {}
    for workers in args.workers:
        loader = DataLoader(ArrayImages(images, labels, transform), args.batch_size, shuffle=True, num_workers=workers)
        variants[f"pil{workers}"] = throughput(loader, args.pil_batches)
        names[f"pil{workers}"] = ("torchvision PIL + DataLoader", str(workers))
    tensors = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(labels)
    for name, augment in (("memory", BatchAugment()), ("memory-reflect", BatchAugment(padding_mode="reflect"))):
        loader = DeviceLoader(*tensors, args.batch_size, CIFAR10_MEAN, CIFAR10_STD, train=True, augment=augment)
        variants[name] = throughput(loader, args.memory_batches)
        names[name] = (f"litlab DeviceLoader, {augment.padding_mode} padding", "-")

    results = interleave(variants, args.runs)
    baseline = f"pil{args.workers[0]}"
    rows = [
        [*names[name], Summary.of(values).format(0), ratio(values, results[baseline]).format(1)]
        for name, values in results.items()
    ]
    table = markdown_table(["path", "workers", "images/s, median [min, max]", f"x {baseline}"], rows)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    note = (
        f"Batch {args.batch_size}, {args.images} CIFAR-sized images, training mode (crop + flip + normalize), "
        f"{args.runs} interleaved runs, torch threads {torch.get_num_threads()}, CPU only, load average {load}.\n"
        "Command: `python scripts/bench_data.py "
        f"--runs {args.runs} --batch-size {args.batch_size} --workers {' '.join(map(str, args.workers))}"
        + (f" --threads {args.threads}`" if args.threads else "`")
    )
    print(table + "\n\n" + note)
    if args.out:
        write_section(args.out, "environment", environment_markdown())
        write_section(
            args.out, "data", "## Data loading: device-resident vs PIL + DataLoader\n\n" + table + "\n\n" + note
        )
        print(f"wrote the `data` section of {args.out}")


if __name__ == "__main__":
    main()
