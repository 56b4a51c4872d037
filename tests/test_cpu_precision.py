"""bf16 on the CPU: the CLI warns where the CPU would emulate it, and bf16 training really runs in bf16."""

import warnings
from pathlib import Path

import pytest
import torch

import litlab.runtime.cpu_precision
from conftest import fast_synthetic_args
from litlab.command.cli import LitlabCLI, build_cli
from litlab.runtime.cpu_precision import cpu_capability, warn_if_bf16_is_emulated

EMULATED = "bf16 is emulated"


def build(log_dir: Path, precision: str) -> LitlabCLI:
    args = [*fast_synthetic_args(log_dir), "--trainer.accelerator", "cpu", "--trainer.precision", precision]
    return build_cli(args=args, run=False)


@pytest.mark.parametrize("native", [True, False, None], ids=["native", "emulated", "not-x86"])
def test_bf16_on_cpu_warns_only_where_an_x86_cpu_has_no_bf16_instructions(
    native: bool | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(litlab.runtime.cpu_precision, "native_cpu_bf16", lambda: native)  # the host has one answer only
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bf16 = build(tmp_path, "bf16-mixed")
        build(tmp_path, "32-true")  # float32 never warns
    emulated = [str(w.message) for w in caught if EMULATED in str(w.message)]
    assert len(emulated) == (1 if native is False else 0)
    if emulated:
        assert "--trainer.precision 32-true" in emulated[0] and "bf16-mixed" in emulated[0]
        assert "no native bf16" in emulated[0]  # the capability, as RESULTS' environment line states it
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        warn_if_bf16_is_emulated(bf16.trainer)
    assert len(again) == len(emulated)


@pytest.mark.parametrize(
    ("native", "said"), [(True, "native bf16"), (False, "no native bf16"), (None, "bf16 support not checked")]
)
def test_capability_names_the_instruction_set_and_bf16(native: bool | None, said: str, monkeypatch) -> None:
    monkeypatch.setattr(litlab.runtime.cpu_precision, "native_cpu_bf16", lambda: native)
    assert cpu_capability() == f"{torch.backends.cpu.get_cpu_capability()}, {said}"


def test_bf16_mixed_cpu_training_computes_layers_in_bf16_with_float32_weights(tmp_path: Path) -> None:
    cli = build(tmp_path, "bf16-mixed")
    seen: list[torch.dtype] = []
    first_linear = next(m for m in cli.model.modules() if isinstance(m, torch.nn.Linear))
    first_linear.register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    assert seen and set(seen) == {torch.bfloat16}
    assert all(p.dtype == torch.float32 for p in cli.model.parameters())  # weights stay float32 (mixed precision)
