"""The fast CIFAR-10 recipe's parts: AirbenchNet, patch whitening (model and callback), test-time augmentation,
lookahead weight averaging, and configs/cifar10_fast.yaml end to end on synthetic images."""

import functools
import subprocess
import sys
import textwrap
from pathlib import Path

import lightning as L
import pytest
import torch
import torch.nn.functional as F

from conftest import CONFIGS, REPO
from litlab.callbacks import Lookahead, WhiteningInit
from litlab.command.cli import build_cli
from litlab.data import CIFAR10DataModule, SyntheticClassificationData
from litlab.models import AirbenchNet
from litlab.models.airbench_net import Norm
from litlab.tasks import ClassificationTask
from litlab.tasks.tta import tta_logits


def correlated_images(n: int, size: int = 32, seed: int = 0) -> torch.Tensor:
    """Normalized images whose neighbouring pixels and channels are correlated, like natural ones."""
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(n, 3, size + 2, size + 2, generator=generator)
    mixing = torch.randn(3, 3, generator=generator) + 2 * torch.eye(3)
    x = torch.einsum("dc,nchw->ndhw", mixing, F.avg_pool2d(noise, 3, stride=1))
    return (x - x.mean()) / x.std()


def patch_second_moment(net: AirbenchNet, images: torch.Tensor) -> torch.Tensor:
    """Second moment of the whitening layer's first half of channels (its filters, not their negatives)."""
    out = net.whiten(images)  # (N, 24, H-1, W-1)
    half = out[:, : out.shape[1] // 2].permute(0, 2, 3, 1).reshape(-1, out.shape[1] // 2)
    return half.T @ half / len(half)


@pytest.mark.parametrize(
    ("input_shape", "widths"), [((3, 32, 32), (64, 256, 256)), ((1, 28, 28), (8, 16, 32)), ((3, 16, 16), (8, 8, 8))]
)
def test_airbench_output_shapes(input_shape: tuple[int, ...], widths: tuple[int, ...]) -> None:
    net = AirbenchNet(input_shape, 7, widths=widths)
    assert net(torch.randn(5, *input_shape)).shape == (5, 7)
    assert net.whiten.out_channels == 2 * input_shape[0] * 4
    assert not net.whiten.weight.requires_grad and net.whiten.bias.requires_grad


def test_init_whitening_makes_patch_second_moment_identity() -> None:
    images = correlated_images(200)
    net = AirbenchNet((3, 32, 32), 10, widths=(8, 8, 8), whiten_eps=1e-7)  # the default eps damps small eigenvalues
    identity = torch.eye(12)
    with torch.no_grad():
        before = (patch_second_moment(net, images) - identity).abs().max().item()
        net.init_whitening(images)
        after = (patch_second_moment(net, images) - identity).abs().max().item()
        out = net.whiten(images)
    assert before > 0.5
    assert after < 1e-3
    torch.testing.assert_close(out[:, 12:], -out[:, :12])


def test_norm_bias_lr_scale_equals_a_scaled_learning_rate_under_sgd() -> None:
    """Reparametrized shift + one param group == plain shift with 64x lr and weight decay / 64 (airbench's groups)."""
    torch.manual_seed(0)
    fast, plain = Norm(4, 0.4, 1e-5, bias_lr_scale=64.0), Norm(4, 0.4, 1e-5, bias_lr_scale=1.0)
    sgd = functools.partial(torch.optim.SGD, momentum=0.85, nesterov=True)
    opt_fast = sgd(fast.parameters(), lr=0.002, weight_decay=0.05)
    opt_plain = sgd(plain.parameters(), lr=0.002 * 64, weight_decay=0.05 / 64)
    for _ in range(6):
        x, target = torch.randn(8, 4, 3, 3), torch.randn(8, 4, 3, 3) + 1
        for net, opt in ((fast, opt_fast), (plain, opt_plain)):
            opt.zero_grad()
            (net(x) - target).pow(2).mean().backward()
            opt.step()
    assert plain.bias.abs().min() > 0.1  # it really moved
    torch.testing.assert_close(fast.bias_gain * fast.bias, plain.bias, rtol=1e-5, atol=1e-6)


def small_task(**kwargs) -> ClassificationTask:
    return ClassificationTask(
        backbone=functools.partial(AirbenchNet, widths=(8, 16, 16)),
        num_classes=4,
        input_shape=(3, 16, 16),
        optimizer=functools.partial(torch.optim.SGD, lr=0.05, momentum=0.9, nesterov=True),
        **kwargs,
    )


def small_data() -> SyntheticClassificationData:
    return SyntheticClassificationData(num_classes=4, input_shape=(3, 16, 16), sizes=(128, 32, 32), batch_size=32)


def trainer(tmp_path: Path, callbacks: list[L.Callback], **kwargs) -> L.Trainer:
    options = {"max_epochs": 1, "limit_val_batches": 1, "logger": False, "enable_progress_bar": False}
    return L.Trainer(
        default_root_dir=tmp_path, callbacks=callbacks, enable_model_summary=False, **{**options, **kwargs}
    )


def spy_on_init(task: ClassificationTask) -> list[torch.Size]:
    """Record the shape of every batch `init_whitening` gets, and still run it."""
    calls, original = [], task.backbone.init_whitening

    def recording(images: torch.Tensor) -> None:
        calls.append(images.shape)
        original(images)

    task.backbone.init_whitening = recording
    return calls


def test_whitening_init_runs_on_fresh_fit_and_is_skipped_on_resume(tmp_path: Path) -> None:
    torch.manual_seed(0)
    first = small_task()
    calls = spy_on_init(first)
    untouched = first.backbone.whiten.weight.clone()
    run = trainer(tmp_path, [WhiteningInit(num_images=100)])
    run.fit(first, small_data())
    assert calls == [torch.Size([100, 3, 16, 16])]
    whitened = first.backbone.whiten.weight
    assert not torch.equal(whitened, untouched)
    torch.testing.assert_close(whitened[12:], -whitened[:12])
    ckpt = tmp_path / "first.ckpt"
    run.save_checkpoint(ckpt)

    resumed = small_task()
    calls = spy_on_init(resumed)
    trainer(tmp_path, [WhiteningInit(num_images=100)], max_epochs=2).fit(
        resumed, small_data(), ckpt_path=ckpt, weights_only=False
    )
    assert calls == []
    assert torch.equal(resumed.backbone.whiten.weight, whitened)  # frozen, so still the checkpoint's


def test_whitening_init_reads_cifar10_datamodule(fake_cifar10: Path) -> None:  # noqa: F811 - fixture
    task = ClassificationTask(
        backbone=functools.partial(AirbenchNet, widths=(8, 8, 8)), num_classes=10, input_shape=(3, 32, 32)
    )
    calls = spy_on_init(task)
    data = CIFAR10DataModule(data_dir=fake_cifar10, val_size=10, batch_size=16, num_workers=0, pin_memory=False)
    trainer(fake_cifar10.parent, [WhiteningInit(num_images=50)], limit_train_batches=1).fit(task, data)
    assert calls == [torch.Size([50, 3, 32, 32])]


def test_tta_equals_plain_for_a_flip_invariant_model() -> None:
    head = torch.randn(3, 5)
    invariant = lambda v: v.mean(dim=(2, 3)) @ head  # noqa: E731 - global average pool + linear
    x = torch.randn(4, 3, 8, 8)
    torch.testing.assert_close(tta_logits(invariant, x, translate=False), invariant(x))


def reflect_shift(x: torch.Tensor, step: int) -> torch.Tensor:
    """x shifted by `step` pixels along both axes, borders mirrored (index -1 -> 1, index n -> n - 2)."""
    n = x.shape[-1]
    index = torch.arange(n) - step
    index = torch.where(index < 0, -index, torch.where(index >= n, 2 * (n - 1) - index, index))
    return x[..., index, :][..., index]


def test_tta_averages_flipped_and_shifted_views() -> None:
    weights = torch.randn(3 * 8 * 8, 5)
    linear = lambda v: v.flatten(1) @ weights  # noqa: E731 - not flip-invariant
    x = torch.randn(4, 3, 8, 8)
    mirror = lambda v: 0.5 * (linear(v) + linear(v.flip(-1)))  # noqa: E731
    expected_flip = mirror(x)
    expected_all = 0.5 * expected_flip + 0.25 * (mirror(reflect_shift(x, 1)) + mirror(reflect_shift(x, -1)))
    torch.testing.assert_close(tta_logits(linear, x, translate=False), expected_flip)
    torch.testing.assert_close(tta_logits(linear, x), expected_all)
    assert (expected_flip - linear(x)).abs().max() > 0.1
    with pytest.raises(ValueError, match="B, C, H, W"):
        tta_logits(linear, torch.randn(4, 10))


def test_classification_task_evaluates_with_tta_only_when_asked() -> None:
    torch.manual_seed(0)
    plain, tta = small_task(), small_task(tta=True)
    tta.load_state_dict(plain.state_dict())
    plain.eval(), tta.eval()
    batch = (torch.randn(6, 3, 16, 16), torch.randint(4, (6,)))
    with torch.no_grad():
        torch.testing.assert_close(plain.validation_step(batch, 0)["logits"], plain(batch[0]))
        torch.testing.assert_close(tta.validation_step(batch, 0)["logits"], tta_logits(tta, batch[0]))
        assert not torch.allclose(tta.validation_step(batch, 0)["logits"], plain(batch[0]))


class WeightsSpy(L.Callback):
    """Copies of the head weights at every `on_train_batch_end`; placed before or after Lookahead."""

    def __init__(self) -> None:
        self.seen: list[torch.Tensor] = []

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: object) -> None:
        self.seen.append(pl_module.backbone.head.weight.detach().clone())


def test_lookahead_blends_every_n_steps_and_resets_current_weights(tmp_path: Path) -> None:
    torch.manual_seed(0)
    before, after = WeightsSpy(), WeightsSpy()
    # power 0 keeps the decay at 0.5 for every update, so each blend is checkable by hand.
    lookahead = Lookahead(every_n_steps=2, decay=0.5, power=0.0)
    trainer(tmp_path, [before, lookahead, after], limit_val_batches=0).fit(small_task(), small_data())
    assert len(after.seen) == 4  # steps 1..4; updates after steps 2 and 4
    torch.testing.assert_close(after.seen[0], before.seen[0])  # no update
    torch.testing.assert_close(after.seen[1], before.seen[1])  # first update copies the current weights
    torch.testing.assert_close(after.seen[2], before.seen[2])
    torch.testing.assert_close(after.seen[3], 0.5 * after.seen[1] + 0.5 * before.seen[3])
    assert not torch.allclose(before.seen[3], after.seen[3])


def fast_config_args(tmp_path: Path) -> list[str]:
    return [
        "fit", "--config", str(CONFIGS / "cifar10_fast.yaml"),
        "--data", "litlab.data.SyntheticClassificationData",
        "--data.input_shape", "[3, 32, 32]", "--data.sizes", "[448, 128, 64]",
        "--data.batch_size", "64", "--data.num_workers", "0", "--data.pin_memory", "false",
        "--model.init_args.backbone.init_args.widths", "[8, 16, 16]",
        "--trainer.max_epochs", "1", "--trainer.accelerator", "cpu", "--trainer.devices", "1",
        "--trainer.logger.init_args.save_dir", str(tmp_path), "--trainer.enable_progress_bar", "false",
        "--trainer.enable_model_summary", "false", "--trainer.num_sanity_val_steps", "0",
    ]  # fmt: skip


def val_loss(task: ClassificationTask, data: SyntheticClassificationData) -> float:
    task.eval()
    with torch.no_grad():
        batches = [(tta_logits(task, x), y) for x, y in data.val_dataloader()]
    return F.cross_entropy(torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])).item()


def test_fast_config_trains_and_validates_on_averaged_weights(tmp_path: Path) -> None:
    cli = build_cli(fast_config_args(tmp_path))
    task, data = cli.model, cli.datamodule
    assert isinstance(task.backbone, AirbenchNet) and task.hparams.tta and task.hparams.label_smoothing == 0.2
    assert cli.trainer.global_step == 7  # 448 / 64; the last average is from step 5

    checkpoint = torch.load(next((tmp_path / "cifar10_fast").rglob("last.ckpt")), weights_only=False)
    averaged, current = checkpoint["state_dict"], checkpoint["current_model_state"]
    assert not torch.equal(averaged["backbone.head.weight"], current["backbone.head.weight"])
    whiten = averaged["backbone.whiten.weight"]
    torch.testing.assert_close(whiten[12:], -whiten[:12])  # set by WhiteningInit

    logged = cli.trainer.callback_metrics["val/loss"].item()
    task.load_state_dict(averaged)
    assert val_loss(task, data) == pytest.approx(logged, rel=1e-5)
    task.load_state_dict(current)
    # Two steps past the average: measurably different, well beyond the 1e-5 relative agreement asserted above.
    assert abs(val_loss(task, data) - logged) > 3e-5


def test_cpu_config_scales_the_recipe(in_tmp: Path) -> None:
    synthetic = ["--data", "litlab.data.SyntheticClassificationData", "--data.input_shape", "[3, 32, 32]"]
    cli = build_cli(["--config", str(CONFIGS / "cifar10_fast_cpu.yaml"), *synthetic], run=False)
    assert [group.conv2.out_channels for group in cli.model.backbone.groups] == [24, 96, 96]
    assert cli.model.optimizer_factory(cli.model.parameters()).defaults["lr"] == pytest.approx(
        11.5 / 4 / (1 + 1 / 0.15)
    )
    assert any(isinstance(callback, Lookahead) for callback in cli.trainer.callbacks)
    assert cli.model.hparams.tta


DDP_SCRIPT = """
import functools, os, sys
import lightning as L, torch
from litlab.callbacks import WhiteningInit
from litlab.data import SyntheticClassificationData
from litlab.models import AirbenchNet
from litlab.tasks import ClassificationTask

class Check(L.Callback):
    def on_fit_start(self, trainer, pl_module):
        weights = trainer.strategy.all_gather(pl_module.backbone.whiten.weight.detach())
        if trainer.is_global_zero:
            same = all(torch.equal(weights[0], w) for w in weights[1:])
            changed = not torch.equal(weights[0], INITIAL)
            open(sys.argv[1], "w").write(f"{len(weights)} {same} {changed}")

torch.manual_seed(0)
task = ClassificationTask(functools.partial(AirbenchNet, widths=(8, 8, 8)), 4, (3, 16, 16))
INITIAL = task.backbone.whiten.weight.detach().clone()
data = SyntheticClassificationData(4, (3, 16, 16), sizes=(256, 32, 32), batch_size=32)
trainer = L.Trainer(accelerator="cpu", devices=2, strategy="ddp", max_steps=1, limit_val_batches=0, logger=False,
                    enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                    callbacks=[WhiteningInit(num_images=64), Check()])
torch.manual_seed(int(os.environ.get("LOCAL_RANK", 0)))  # each rank's own loader order would draw other images
trainer.fit(task, data)
"""


@pytest.mark.slow
def test_whitening_init_gives_every_ddp_rank_the_same_weights(tmp_path: Path) -> None:
    script, result = tmp_path / "ddp_whitening.py", tmp_path / "result.txt"
    script.write_text(textwrap.dedent(DDP_SCRIPT))
    subprocess.run([sys.executable, str(script), str(result)], cwd=REPO, check=True, timeout=300)
    assert result.read_text() == "2 True True"


def test_norm_dtype_benchmark_compares_the_shipped_float32_shift_with_the_candidate() -> None:
    """benchmarks/norm_dtype_ab.py: the shipped Norm promotes bf16 to float32, its candidate keeps bf16, same output."""
    from benchmarks.norm_dtype_ab import built

    (shipped, _), (candidate, _) = built(candidate=False), built(candidate=True)
    x = torch.randn(2, 3, 32, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert shipped.groups[0].norm1(torch.randn(2, 24, 8, 8).bfloat16()).dtype == torch.float32
        assert candidate.groups[0].norm1(torch.randn(2, 24, 8, 8).bfloat16()).dtype == torch.bfloat16
        torch.testing.assert_close(shipped(x).float(), candidate(x).float(), rtol=0.05, atol=0.05)  # same weights
