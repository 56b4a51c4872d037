"""The pruning and quantization reports: markdown tables of sparsity, size, latency and test metrics.

Each report starts from checkpoints of `litlab fit`; `train` makes one when the user has none.
"""

import copy
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from litlab.checkpoints.export import load_checkpoint
from litlab.command.cli import build_cli
from litlab.compression.measure import cpu_latency_ms, evaluate_on_test, state_dict_bytes
from litlab.compression.quantization import quantize_dynamic_int8
from litlab.compression.sparsity import prunable_weights, prune_global_l1, sparsity


def train(config: str | Path, save_dir: str | Path, *overrides: str) -> Path:
    """Run `litlab fit --config <config>` in-process, logging under `save_dir`; return its last checkpoint."""
    cli = build_cli(["fit", "--config", str(config), "--trainer.logger.init_args.save_dir", str(save_dir), *overrides])
    return Path(cli.trainer.log_dir) / "checkpoints" / "last.ckpt"  # written at every epoch's end


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def pruning_report(dense_ckpt: Path, pruned_ckpt: Path, one_shot: float | None = None) -> str:
    """Sparsity (global and per layer) and test metrics of a dense and a pruned checkpoint.

    With `one_shot`, a third row prunes the dense model to that sparsity after training, without fine-tuning:
    what gradual pruning during training buys over cutting afterwards.
    """
    dense, datamodule = load_checkpoint(dense_ckpt)
    pruned, _ = load_checkpoint(pruned_ckpt)
    models = {"dense": (dense, dense_ckpt), "pruned during training": (pruned, pruned_ckpt)}
    if one_shot is not None:
        cut = prune_global_l1(copy.deepcopy(dense), one_shot)
        models[f"dense, one-shot L1 {one_shot:.0%} after training"] = (cut, dense_ckpt)
    rows, layers = [], {}
    for label, (module, ckpt) in models.items():
        stats = sparsity(module.backbone)
        total = sum(m.weight.numel() for _, m in prunable_weights(module.backbone))
        metrics = evaluate_on_test(module, datamodule)
        nonzero = round(total * (1 - stats.pop("global")))
        rows.append(
            [label, f"{1 - nonzero / total:.1%}", f"{nonzero:,} / {total:,}", f"{metrics['test/acc']:.4f}"]
            + [f"{metrics['test/loss']:.4f}", f"`{ckpt}`"]
        )
        layers[label] = stats
    header = ["model", "weight sparsity", "nonzero weights", "test/acc", "test/loss", "checkpoint"]
    layer_names = list(next(iter(layers.values())))
    layer_rows = [[f"`{name}`", *(f"{stats[name]:.1%}" for stats in layers.values())] for name in layer_names]
    return (
        markdown_table(header, rows)
        + "\n\nSparsity per layer (Linear/Conv weights):\n\n"
        + markdown_table(["layer", *layers], layer_rows)
    )


def quantization_report(ckpt: Path, threads: int, runs: int = 50, batch_size: int = 256) -> str:
    """Size on disk, median CPU latency per batch and test metrics, float32 vs int8 dynamic quantization."""
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _quantization_table(ckpt, threads, runs, batch_size)
    finally:
        torch.set_num_threads(previous_threads)


def _quantization_table(ckpt: Path, threads: int, runs: int, batch_size: int) -> str:
    module, datamodule = load_checkpoint(ckpt)
    quantized = copy.deepcopy(module)
    quantized.backbone = quantize_dynamic_int8(module.backbone)
    rows = []
    for label, model in (("float32", module), ("int8 dynamic (Linear)", quantized)):
        metrics = evaluate_on_test(model, datamodule)  # also sets up the test split used for the latency batch
        batch = next(iter(DataLoader(datamodule.test_set, batch_size=batch_size)))[0]
        size = state_dict_bytes(model.backbone)
        latency = cpu_latency_ms(model.backbone, batch, runs=runs)
        rows.append([label, f"{size / 1024:.1f}", f"{latency:.3f}", f"{metrics['test/acc']:.4f}"])
    header = ["model", "state_dict size (KiB)", f"CPU ms / batch of {batch_size}", "test/acc"]
    note = f"\n\nCheckpoint `{ckpt}`; latency is the median of {runs} runs with torch.set_num_threads({threads})."
    return markdown_table(header, rows) + note
