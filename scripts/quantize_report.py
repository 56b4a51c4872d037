"""Size on disk, CPU latency and test accuracy of a model before and after int8 dynamic quantization.

    python scripts/quantize_report.py                   # trains configs/synthetic_mlp.yaml first
    python scripts/quantize_report.py --ckpt_path last.ckpt --threads 1 --runs 100 --out results.md

Only Linear layers are quantized (see `litlab.compression.quantization` for why this path); latency is the
median over --runs forward passes of one test batch, with torch.set_num_threads(--threads).
"""

import argparse
import sys
from pathlib import Path

from litlab.command.errors import LitlabError
from litlab.compression.report import quantization_report, train

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt_path", type=Path, help="checkpoint of `litlab fit`; trains --config without one")
    parser.add_argument("--config", type=Path, default=REPO / "configs/synthetic_mlp.yaml")
    parser.add_argument("--workdir", type=Path, default=Path("logs/quantize_report"), help="logs of the run it trains")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads for every measurement")
    parser.add_argument("--runs", type=int, default=50, help="timed forward passes; the median is reported")
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--out", type=Path, help="append the table to this markdown file")
    args = parser.parse_args()
    try:
        ckpt = args.ckpt_path or train(args.config, args.workdir, "--trainer.enable_progress_bar", "false")
        report = quantization_report(ckpt, args.threads, args.runs, args.batch_size)
    except LitlabError as error:
        sys.exit(f"quantize_report: error: {error}")
    print(report)
    if args.out:
        with args.out.open("a") as f:
            f.write(f"\n## Dynamic int8 quantization\n\n{report}\n")


if __name__ == "__main__":
    main()
