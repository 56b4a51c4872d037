"""Sparsity and test accuracy of a dense model against one pruned during training, as a markdown table.

    python scripts/prune_report.py                      # trains both synthetic configs first
    python scripts/prune_report.py --dense_ckpt A.ckpt --pruned_ckpt B.ckpt --out results.md

Without checkpoints it runs configs/synthetic_mlp.yaml and configs/synthetic_mlp_pruned.yaml (same seed,
same epochs) with logs under --workdir, and compares their last checkpoints. A third row prunes the dense
model to the same sparsity after training, without fine-tuning.
"""

import argparse
import sys
from pathlib import Path

from litlab.command.errors import LitlabError
from litlab.compression.report import pruning_report, train

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dense_ckpt", type=Path, help="checkpoint of the unpruned model")
    parser.add_argument("--pruned_ckpt", type=Path, help="checkpoint of the pruned model")
    parser.add_argument("--dense_config", type=Path, default=REPO / "configs/synthetic_mlp.yaml")
    parser.add_argument("--pruned_config", type=Path, default=REPO / "configs/synthetic_mlp_pruned.yaml")
    parser.add_argument("--workdir", type=Path, default=Path("logs/prune_report"), help="logs of runs it trains")
    parser.add_argument("--one_shot", type=float, default=0.9, help="sparsity of the one-shot row; <= 0 drops it")
    parser.add_argument("--out", type=Path, help="append the tables to this markdown file")
    args = parser.parse_args()
    try:
        dense = args.dense_ckpt or train(args.dense_config, args.workdir, "--trainer.enable_progress_bar", "false")
        pruned = args.pruned_ckpt or train(args.pruned_config, args.workdir, "--trainer.enable_progress_bar", "false")
        report = pruning_report(dense, pruned, args.one_shot if args.one_shot > 0 else None)
    except LitlabError as error:
        sys.exit(f"prune_report: error: {error}")
    print(report)
    if args.out:
        with args.out.open("a") as f:
            f.write(f"\n## Pruning\n\n{report}\n")


if __name__ == "__main__":
    main()
