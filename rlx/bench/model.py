"""`python -m rlx.bench model`: what the model costs, each figure against a baseline in the same run.

- model.rlstm_fused_vs_reference_C{C}: forward+backward time of the Relational
  LSTM, reference (explicit per-gate matmul + softmax per step) over fused
  (hoisted input-to-state ops, gates as heads of one SDPA call): a speed-up, >1 is good.
- model.two_branch_vs_tsn_step_time: one SGD step of `two_branch` over `tsn`
  on the same backbone (the price of the relational branch).
- model.two_branch_vs_tsn_params / _flops: the same ratio in parameters and in
  forward FLOPs, at the paper's size (ResNet-101-v2, 224², T=8), counted on
  the meta device so nothing is allocated.
- model.attn_at_init_{iid,conv5like}_C{C}: how saturated the R-LSTM's
  attention is at initialisation (rlx.models.attention_stats), at the paper's
  shape (C = 2048, θ/φ width 1024, T = 8, 7×7): value = mean largest weight
  of the input-to-state softmax unscaled (the paper's) over scaled by 1/√d;
  details hold entropy and largest weight of both kinds, both ways, beside
  the uniform figures (log N, 1/N). Inputs are what the R-LSTM reads, the
  output of the branch's BatchNorm in training mode (zero mean, unit
  variance per channel): `iid` unit-variance noise, and `conv5like` maps
  built with the structure of real conv5 features (ImageNet weights are not
  available offline): a per-video share of the variance common to every
  snippet and position (0.3), a per-snippet share (0.1) and a per-position
  share (0.6) smoothed over 3×3 neighbourhoods. Only the position share moves
  a softmax over positions. Measured on this 2-core VM: unscaled, the mean
  largest input-to-state weight is 0.96 (iid) / 0.95 (conv5like) against
  1/49 uniform, state-to-state 0.78 / 0.73; scaled, 0.19 / 0.14 and 0.02.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from rlx.bench.common import BenchResult, time_pair
from rlx.config import Arch, Backbone, ModelConfig
from rlx.models import RelationalLSTM, build_model
from rlx.models.attention_stats import AttentionStats, attention_statistics
from rlx.models.relational_lstm import Impl


def _env() -> dict[str, object]:
    return {
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or "cpu",
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def bench_rlstm(channels: int, batch: int, steps: int, size: int, repeats: int) -> BenchResult:
    device = _device()
    torch.manual_seed(0)
    model = RelationalLSTM(channels, channels // 2).to(device)
    x = torch.randn(batch, steps, channels, size, size, device=device, requires_grad=True)

    def step(impl: Impl) -> None:
        model.impl = impl
        out, (_, c) = model(x)
        (out.sum() + c.sum()).backward()
        _sync()

    ref, fused = time_pair(lambda: step("reference"), lambda: step("fused"), repeats=repeats)
    return BenchResult(
        name=f"model.rlstm_fused_vs_reference_C{channels}",
        value=round(ref / fused, 3),
        unit="x",
        baseline="reference R-LSTM (per-gate matmul+softmax) fwd+bwd",
        candidate="fused R-LSTM (hoisted input ops, SDPA with gates as heads) fwd+bwd",
        details={
            "shape": f"B={batch} T={steps} C={channels} hidden={channels // 2} {size}x{size}",
            "reference_s": round(ref, 4),
            "fused_s": round(fused, 4),
            "goal": ">= 1.5x",
            **_env(),
        },
    )


def make_sgd_step(arch: Arch, backbone: Backbone, size: int, batch: int, steps: int) -> Callable[[], None]:
    device = _device()
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch=arch, backbone=backbone, bn_mode="batch"), num_classes=10).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    x = torch.randn(batch, steps, 3, size, size, device=device)
    y = torch.randint(0, 10, (batch,), device=device)

    def sgd_step() -> None:
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        _sync()

    return sgd_step


def bench_step_time(backbone: Backbone, size: int, batch: int, steps: int, repeats: int) -> BenchResult:
    tsn_s, two_s = time_pair(
        make_sgd_step("tsn", backbone, size, batch, steps),
        make_sgd_step("two_branch", backbone, size, batch, steps),
        repeats=repeats,
    )
    return BenchResult(
        name="model.two_branch_vs_tsn_step_time",
        value=round(two_s / tsn_s, 3),
        unit="x",
        baseline="tsn SGD step",
        candidate="two_branch SGD step",
        details={
            "shape": f"{backbone} B={batch} T={steps} {size}x{size}",
            "tsn_s": round(tsn_s, 4),
            "two_branch_s": round(two_s, 4),
            **_env(),
        },
    )


def count_params_and_flops(arch: Arch, backbone: Backbone, size: int, steps: int) -> tuple[int, int]:
    with torch.device("meta"):
        model = build_model(ModelConfig(arch=arch, backbone=backbone), num_classes=101)
        x = torch.empty(1, steps, 3, size, size)
    params = sum(p.numel() for p in model.parameters())
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model.eval()(x)
    return params, counter.get_total_flops()


def bench_cost_ratios(backbone: Backbone, size: int, steps: int) -> list[BenchResult]:
    tsn = count_params_and_flops("tsn", backbone, size, steps)
    two = count_params_and_flops("two_branch", backbone, size, steps)
    shape = f"{backbone} {size}x{size} T={steps}, one video, 101 classes"
    return [
        BenchResult(
            name="model.two_branch_vs_tsn_params",
            value=round(two[0] / tsn[0], 3),
            unit="x",
            baseline="tsn parameters",
            candidate="two_branch parameters",
            details={"shape": shape, "tsn": tsn[0], "two_branch": two[0]},
        ),
        BenchResult(
            name="model.two_branch_vs_tsn_flops",
            value=round(two[1] / tsn[1], 3),
            unit="x",
            baseline="tsn forward FLOPs",
            candidate="two_branch forward FLOPs",
            details={"shape": shape, "tsn_gflops": round(tsn[1] / 1e9, 1), "two_branch_gflops": round(two[1] / 1e9, 1)},
        ),
    ]


# Shares of the per-channel variance of conv5 maps (conv5like inputs): video, snippet, position.
CONV5LIKE_SHARES = (0.3, 0.1, 0.6)


def conv5like_maps(batch: int, steps: int, channels: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """(B, T, C, size, size) maps with a video, a snippet and a spatially smooth position component."""
    video, snippet, position = (s**0.5 for s in CONV5LIKE_SHARES)
    noise = torch.randn(batch * steps, channels, size, size, generator=generator)
    local = F.avg_pool2d(noise, 3, stride=1, padding=1, count_include_pad=False)  # objects span neighbours
    local = local - local.mean(dim=(2, 3), keepdim=True)  # the position share varies over positions only
    local = (local / local.std(dim=(2, 3), keepdim=True)).view(batch, steps, channels, size, size)
    per_video = torch.randn(batch, 1, channels, 1, 1, generator=generator)
    per_snippet = torch.randn(batch, steps, channels, 1, 1, generator=generator)
    return video * per_video + snippet * per_snippet + position * local


def post_batchnorm(maps: torch.Tensor) -> torch.Tensor:
    """The branch's BatchNorm at initialisation in training mode: batch statistics per channel."""
    b, t, c, h, w = maps.shape
    normed = F.batch_norm(maps.flatten(0, 1), None, None, training=True)  # (B·T, C, h, w)
    return normed.view(b, t, c, h, w)


def bench_attention_at_init(
    channels: int, batch: int, steps: int, size: int, inputs: str, rlstm: RelationalLSTM
) -> BenchResult:
    generator = torch.Generator().manual_seed(0)
    if inputs == "iid":
        maps = torch.randn(batch, steps, channels, size, size, generator=generator)
    else:
        maps = conv5like_maps(batch, steps, channels, size, generator)
    x = post_batchnorm(maps).to(rlstm.cell.input_ops.g.weight.device)
    stats: dict[str, AttentionStats] = {}
    for label, scale in (("unscaled", False), ("scaled", True)):
        rlstm.cell.input_ops.scale = rlstm.cell.state_ops.scale = scale
        stats[label] = attention_statistics(rlstm, x)
    rlstm.cell.input_ops.scale = rlstm.cell.state_ops.scale = False
    n = size * size
    return BenchResult(
        name=f"model.attn_at_init_{inputs}_C{channels}",
        value=round(stats["unscaled"].max_x / stats["scaled"].max_x, 3),
        unit="x",
        baseline="mean largest input-to-state attention weight, theta.phi scaled by 1/sqrt(d)",
        candidate="the same, unscaled (the paper's, the default)",
        details={
            "shape": f"B={batch} T={steps} C={channels} d={rlstm.cell.input_ops.inter_channels} {size}x{size}",
            "inputs": f"{inputs} after BatchNorm (batch statistics)"
            + (f", variance shares video/snippet/position {CONV5LIKE_SHARES}" if inputs != "iid" else ""),
            "uniform_entropy": round(math.log(n), 3),
            "uniform_max": round(1 / n, 4),
            **{
                f"{label}_{key.removeprefix('model/')}": round(value, 4)
                for label, s in stats.items()
                for key, value in s.as_metrics().items()
            },
        },
    )


def bench_attention(channels: int, batch: int, steps: int, size: int) -> list[BenchResult]:
    torch.manual_seed(0)
    rlstm = RelationalLSTM(channels, channels // 2).to(_device())  # Xavier per operation, as every run starts
    return [bench_attention_at_init(channels, batch, steps, size, kind, rlstm) for kind in ("iid", "conv5like")]


def run(quick: bool = False) -> list[BenchResult]:
    if quick:
        return [
            bench_rlstm(channels=64, batch=2, steps=3, size=3, repeats=1),
            bench_step_time("resnetv2_small", size=48, batch=1, steps=2, repeats=1),
            *bench_cost_ratios("resnetv2_small", size=64, steps=2),
            *bench_attention(channels=64, batch=2, steps=3, size=4),
        ]
    on_gpu = torch.cuda.is_available()
    results = [bench_rlstm(c, batch=4, steps=8, size=7, repeats=3) for c in (256, 1024, 2048)]
    if on_gpu:
        results.append(bench_step_time("resnetv2_101", size=224, batch=8, steps=8, repeats=5))
    else:
        results.append(bench_step_time("resnetv2_small", size=112, batch=4, steps=8, repeats=3))
    results += bench_cost_ratios("resnetv2_101", size=224, steps=8)
    results += bench_attention(channels=2048, batch=2, steps=8, size=7)  # the paper's shape
    return results
