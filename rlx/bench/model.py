"""`python -m rlx.bench model`: what the model costs, each figure against a baseline in the same run.

- model.rlstm_fused_vs_reference_C{C}: forward+backward time of the Relational
  LSTM, reference (explicit per-gate matmul + softmax per step) over fused
  (hoisted input-to-state ops, gates as heads of one SDPA call): a speed-up, >1 is good.
- model.two_branch_vs_tsn_step_time: one SGD step of `two_branch` over `tsn`
  on the same backbone (the price of the relational branch).
- model.two_branch_vs_tsn_params / _flops: the same ratio in parameters and in
  forward FLOPs, at the paper's size (ResNet-101-v2, 224², T=8), counted on
  the meta device so nothing is allocated.
"""

from __future__ import annotations

import platform
from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from rlx.bench.common import BenchResult, time_pair
from rlx.config import Arch, Backbone, ModelConfig
from rlx.models import RelationalLSTM, build_model
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


def run(quick: bool = False) -> list[BenchResult]:
    if quick:
        return [
            bench_rlstm(channels=64, batch=2, steps=3, size=3, repeats=1),
            bench_step_time("resnetv2_small", size=48, batch=1, steps=2, repeats=1),
            *bench_cost_ratios("resnetv2_small", size=64, steps=2),
        ]
    on_gpu = torch.cuda.is_available()
    results = [bench_rlstm(c, batch=4, steps=8, size=7, repeats=3) for c in (256, 1024, 2048)]
    if on_gpu:
        results.append(bench_step_time("resnetv2_101", size=224, batch=8, steps=8, repeats=5))
    else:
        results.append(bench_step_time("resnetv2_small", size=112, batch=4, steps=8, repeats=3))
    results += bench_cost_ratios("resnetv2_101", size=224, steps=8)
    return results
