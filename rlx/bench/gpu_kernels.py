"""Kernel-level figures for `python -m rlx.bench gpu`: the bf16 matmul peak, which
`scaled_dot_product_attention` backend the R-LSTM's shapes get, and fused vs reference R-LSTM time.

- Matmul peak: n x n bf16 matmuls timed with CUDA events, 2n³ FLOPs each.
- SDPA backend: every backend of `torch.nn.attention.SDPBackend` is tried
  alone (`sdpa_kernel([backend])`) on the R-LSTM's query/key/value shape
  with gradients, forward and backward: those that run accept the shape.
  The backend PyTorch picks by itself is read from the aten op that runs
  (each backend has its own), not guessed from its priority list.
- Fused vs reference: `RelationalLSTM` forward+backward, impl "reference"
  (explicit matmul + softmax per gate) over "fused" (one SDPA call for the
  four gates), under the same autocast as training on CUDA.
"""

from __future__ import annotations

import re
import warnings
from contextlib import nullcontext
from typing import Any

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils._python_dispatch import TorchDispatchMode

from rlx.bench.common import time_pair
from rlx.models import RelationalLSTM

# The aten op each fused backend dispatches to.
SDPA_OPS = {
    "_scaled_dot_product_flash_attention_for_cpu": "FLASH_ATTENTION (cpu)",
    "_scaled_dot_product_flash_attention": "FLASH_ATTENTION",
    "_scaled_dot_product_efficient_attention": "EFFICIENT_ATTENTION",
    "_scaled_dot_product_cudnn_attention": "CUDNN_ATTENTION",
}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def autocast(device: torch.device, amp: bool):
    """bf16 autocast on CUDA as `rlx.train.loop` does it; CPU training runs fp32, so nothing there."""
    return torch.autocast("cuda", dtype=torch.bfloat16) if amp and device.type == "cuda" else nullcontext()


class _OpNames(TorchDispatchMode):
    """The aten ops that run inside the block (as FlopCounterMode sees them): names like
    `_scaled_dot_product_efficient_attention`. Faster than the profiler, whose first start takes seconds."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.names.add(func.overloadpacket.__name__)
        return func(*args, **(kwargs or {}))


def matmul_peak_tflops(n: int = 8192, repeats: int = 20) -> float:
    """Measured dense bf16 matmul TFLOP/s on the current CUDA device (best of `repeats` timed calls)."""
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        a @ b
        end.record()
        torch.cuda.synchronize()
        best = min(best, start.elapsed_time(end) / 1000)
    return 2 * n**3 / best / 1e12


def refusal_reasons(messages: list[str]) -> list[str]:
    """The warnings that say why a forced SDPA backend refused the shape, first lines, in order.

    Dropped: the "<X> kernel not used because:" headers and every "<Y> has been runtime disabled" (the other
    backends, switched off by forcing this one): on an H200 they came first and hid the reason.
    """
    # PyTorch appends where it warned from: "... (Triggered internally at .../sdp_utils.cpp:986.)"
    lines = [re.sub(r"\s*\(Triggered internally at [^)]*\)", "", m.splitlines()[0]).strip() for m in messages]
    return [line for line in lines if line and not line.endswith("because:") and "runtime disabled" not in line]


def sdpa_backends(shape: tuple[int, int, int, int], device: torch.device, dtype: torch.dtype) -> dict[str, Any]:
    """Which SDPA backends run (B, heads, N, d) with gradients, and which one PyTorch chooses unforced."""

    def call() -> None:
        q, k, v = (torch.randn(shape, device=device, dtype=dtype, requires_grad=True) for _ in range(3))
        F.scaled_dot_product_attention(q, k, v, scale=1.0).sum().backward()  # scale 1: the paper's unscaled θᵀφ
        sync(device)

    accepts: dict[str, str] = {}
    for backend in SDPBackend.__members__.values():  # a pybind11 enum: not iterable itself
        if backend in (SDPBackend.ERROR, SDPBackend.OVERRIDEABLE):  # no kernel of its own (OVERRIDEABLE: out-of-tree)
            continue
        with warnings.catch_warnings(record=True) as caught:  # a refusing backend says why in UserWarnings
            warnings.simplefilter("always")
            try:
                with sdpa_kernel([backend]):
                    call()
                accepts[backend.name] = "yes"
            except RuntimeError as err:
                reasons = refusal_reasons([str(w.message) for w in caught]) or [str(err).splitlines()[0]]
                accepts[backend.name] = "no: " + " | ".join(r[:160] for r in reasons[:2])
    with _OpNames() as seen:
        call()
    ops = seen.names
    chosen = [label for op, label in SDPA_OPS.items() if op in ops]
    return {
        "shape": f"(B, heads, N, d) = {shape} {str(dtype).removeprefix('torch.')}",
        "accepts": accepts,
        # the math path is composite: it decomposes into bmm/softmax before a dispatch mode sees an op of its own
        "chosen": chosen[0] if chosen else "MATH (no fused attention op ran)",
    }


def rlstm_fused_vs_reference(
    channels: int, batch: int, steps: int, size: int, device: torch.device, amp: bool, repeats: int
) -> dict[str, float]:
    """Median seconds of one R-LSTM forward+backward, reference and fused, same parameters and input."""
    torch.manual_seed(0)
    model = RelationalLSTM(channels, channels // 2).to(device)
    x = torch.randn(batch, steps, channels, size, size, device=device, requires_grad=True)

    def step(impl: str) -> None:
        model.impl = impl
        with autocast(device, amp):
            out, (_, c) = model(x)
        (out.float().sum() + c.float().sum()).backward()
        sync(device)

    ref, fused = time_pair(lambda: step("reference"), lambda: step("fused"), repeats=repeats)
    return {"reference_s": round(ref, 4), "fused_s": round(fused, 4), "speedup": round(ref / fused, 3)}
