"""`python -m rlx.bench gpu`: what one GPU does with the paper-size two-branch network, in ≤ 5 minutes.

- gpu.bf16_vs_fp32_agreement: the two-branch ResNet-101-v2 (T = 8, 224²)
  forward+backward under bf16 autocast (as `rlx.train.loop` runs it) against
  true fp32 (TF32 off), same weights and input, dropout off (its masks would
  differ), BatchNorm with batch statistics (see `agreement`). value = max |Δ| / max |fp32| of the
  logits; details: the same, cosine similarity, for the logits and named
  gradients, each beside its noise floor (fp32 on the bf16-rounded input) and
  bf16's max |Δ| over the floor's. On CPU (training there is fp32): CPU bf16
  autocast at B = 1, T = 2.
- gpu.train_mfu: videos/s of `rlx.train.loop.train_one_epoch` (bf16,
  channels_last, SGD as `rlx.train.fit` builds them) at B = 24, T = 8, 224²,
  uint8 batches from host memory; achieved TFLOP/s = 3 x counted forward
  FLOPs (`rlx.bench.model.count_params_and_flops`) x videos/s; value = that
  over the GPU's dense bf16 peak (`rlx.bench.throughput.PEAK_BF16_TFLOPS`),
  with a measured bf16 matmul peak beside it.
- gpu.rlstm_fused_vs_reference: R-LSTM (C = 2048, head dim 1024) forward+
  backward, reference over fused (speed-up), and the SDPA backends that
  accept the shape / the one chosen (`rlx.bench.gpu_kernels`).
- gpu.data_wait_predicted: the training view's videos/s decoded by all the
  machine's CPUs at once (one process per CPU, `load_video` on the data
  bench's clips) against the GPU's videos/s: max(0, 1 - decode/GPU).
- data.flow_rawframes_vs_rgb_video (`rlx.bench.data_flow`): per-core flow vs RGB.

Without CUDA, what needs a GPU is skipped, one printed line each, and listed
in every result's details (`skipped`).
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import numpy as np
import torch
from torch import nn

from rlx.bench import data_flow, gpu_kernels, throughput
from rlx.bench.common import BenchResult
from rlx.bench.model import count_params_and_flops
from rlx.config import ModelConfig, OptimConfig
from rlx.models import build_model
from rlx.train.fit import make_optimizer
from rlx.train.loop import Normalizer, StepOptions, loss_fn, train_one_epoch

GRADS = ("backbone.stem.conv.weight", "relational.rlstm.cell.input_ops.theta.weight", "fc.weight")
NORM = Normalizer((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def compare(candidate: torch.Tensor, reference: torch.Tensor) -> dict[str, float]:
    """Max |Δ|, max |Δ| / max |reference| (elementwise ratios blow up near zero) and cosine similarity."""
    c, r = candidate.detach().double().flatten(), reference.detach().double().flatten()
    diff = (c - r).abs().max().item()
    cos = torch.nn.functional.cosine_similarity(c, r, dim=0).item()
    return {"max_abs": diff, "max_rel": diff / max(r.abs().max().item(), 1e-30), "cosine": cos}


def agreement(backbone: str, batch: int, steps: int, size: int, device: torch.device) -> dict[str, Any]:
    """bf16 against fp32 for the logits and the `GRADS`, each beside its noise floor.

    The floor is fp32 again on the input rounded to bf16 (what autocast's first convolution sees), against
    fp32: how far the network itself moves when only the input's last bits change. At random init the deep
    gradients are chaotic (measured: the stem's gradient has cosine ~0 to fp32's under that rounding alone,
    also for `tsn` and with scaled attention), so a bf16 figure means something only beside its floor.
    """
    torch.manual_seed(0)
    # Batch-statistics BN: the pretrained BN statistics are not available offline, and frozen init statistics
    # (mean 0, var 1) let activations grow to ~1e4 over 100 layers, where the unscaled attention saturates and
    # any rounding flips its argmax: a comparison of two broken networks, not of two precisions.
    model = build_model(ModelConfig(backbone=backbone, bn_mode="batch"), num_classes=101).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)  # the layout training runs in
    model.train()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.eval()  # the same network in all passes: bf16 and fp32 dropout masks are not the same draws
    frames = torch.randint(0, 256, (batch, steps, 3, size, size), dtype=torch.uint8)
    batch_ = {"label": np.arange(batch) % 101}
    x = NORM(frames.to(device))
    results = {}
    for label, amp, inputs in (("fp32", False, x), ("floor", False, x.bfloat16().float()), ("bf16", True, x)):
        model.zero_grad(set_to_none=True)
        cpu_bf16 = amp and device.type == "cpu"
        ctx = torch.autocast("cpu", dtype=torch.bfloat16) if cpu_bf16 else gpu_kernels.autocast(device, amp)
        with ctx:
            logits = model(inputs)
        loss_fn(logits, batch_, False, device).backward()
        named = dict(model.named_parameters())
        results[label] = {"logits": logits.float().detach(), **{f"grad:{g}": named[g].grad.detach() for g in GRADS}}
    ref = results["fp32"]
    return {
        key: {**compare(results["bf16"][key], ref[key]), "floor": compare(results["floor"][key], ref[key])}
        for key in ref
    }


def train_rate(
    backbone: str, batch: int, steps: int, size: int, warmup: int, timed: int, device: torch.device | None = None
) -> dict[str, float]:
    """Videos/s of the training loop itself on CUDA: bf16 autocast, channels_last, the paper's SGD.

    `device` cpu only for tests of this code path (the loop ignores amp there)."""
    device = device or torch.device("cuda")
    cuda = device.type == "cuda"
    torch.manual_seed(0)
    model = build_model(ModelConfig(backbone=backbone), num_classes=101).to(device)
    model = model.to(memory_format=torch.channels_last)  # as rlx.train.fit does on CUDA
    optimizer, _ = make_optimizer(model, OptimConfig())
    rng = np.random.default_rng(0)
    batches = [
        {"frames": rng.integers(0, 256, (batch, steps, 3, size, size), dtype=np.uint8), "label": np.arange(batch)}
        for _ in range(2)
    ]
    opts = StepOptions(device=device, amp=True)
    train_one_epoch(model, [batches[i % 2] for i in range(warmup)], optimizer, NORM, opts)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    stats = train_one_epoch(model, [batches[i % 2] for i in range(timed)], optimizer, NORM, opts)
    return {
        "videos_per_s": stats.videos / stats.seconds,
        "peak_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan"),
        "batch": batch,
    }


def train_rate_fitting(backbone: str, steps: int, size: int, warmup: int, timed: int) -> dict[str, float]:
    """`train_rate` at B = 24 (the paper's), halved until it fits the GPU's memory (24 GB parts: A10G, L4)."""
    batch = 24
    while True:
        try:
            return train_rate(backbone, batch, steps, size, warmup, timed)
        except torch.cuda.OutOfMemoryError:
            if batch == 1:
                raise
            print(f"gpu bench: B={batch} does not fit in GPU memory, trying B={batch // 2}", file=sys.stderr)
            batch //= 2
            torch.cuda.empty_cache()


def _load_all(args: tuple[str, str, int, int]) -> int:
    from rlx.data.pipeline import PipelineSpec, load_video  # noqa: PLC0415 (worker process)

    root, rel, frames, seed = args
    load_video(PipelineSpec(root, mode="train", num_segments=8), rel, frames, np.random.default_rng(seed))
    return 1


def _init_worker() -> None:
    import cv2  # noqa: PLC0415

    cv2.setNumThreads(1)


def decode_all_cpus(quick: bool) -> dict[str, Any]:
    """RGB training-view videos/s with one decoding process per CPU, the data bench's clips, pool start excluded."""
    from rlx.bench.data import find_clips  # noqa: PLC0415 (imports Ray)

    cpus = os.cpu_count() or 1
    with TemporaryDirectory(prefix="rlx-bench-gpu-") as tmp:
        clips = find_clips(quick, Path(tmp))
        work = [(str(clips.root), c.rel, c.num_frames, k) for k, c in enumerate(clips.clips)]
        copies = max(1, (cpus * (2 if quick else 8)) // len(work))
        jobs = [w for _ in range(copies) for w in work]
        # spawn: forked children of a process that holds CUDA and OpenMP threads can hang
        with ProcessPoolExecutor(cpus, mp_context=get_context("spawn"), initializer=_init_worker) as pool:
            sum(pool.map(_load_all, work * max(1, cpus // len(work) + 1)))  # warm-up: every process imports rlx
            start = time.perf_counter()
            done = sum(pool.map(_load_all, jobs))
            seconds = time.perf_counter() - start
    return {"videos_per_s": done / seconds, "cpus": cpus, "videos": done, "clip_source": clips.source}


def _rounded(figures: dict[str, Any]) -> dict[str, Any]:
    """4 significant digits, nested dicts (the floor) too; bf16's max |Δ| over the floor's beside them."""
    out = {m: _rounded(x) if isinstance(x, dict) else float(f"{x:.4g}") for m, x in figures.items()}
    if "floor" in figures:
        out["max_abs_over_floor"] = float(f"{figures['max_abs'] / max(figures['floor']['max_abs'], 1e-30):.4g}")
    return out


def skip(skipped: list[str], what: str) -> None:
    print(f"gpu bench: skipped {what}", file=sys.stderr)
    skipped.append(what)


def run(quick: bool = False) -> list[BenchResult]:
    """Quick: small shapes everywhere (smoke-checks the code; figures meaningless)."""
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    name = torch.cuda.get_device_name() if cuda else "cpu"
    skipped: list[str] = []
    env = {"device": name, "torch": torch.__version__, "cpu_count": os.cpu_count(), "quick": quick}
    backbone, size = ("resnetv2_small", 64) if quick else ("resnetv2_101", 224)
    batch, steps = (2, 2) if quick else ((8, 8) if cuda else (1, 2))

    tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False  # the fp32 reference must be fp32, not cuDNN's default TF32 convs
    try:
        agree = agreement(backbone, batch, steps, size, device)
    finally:
        torch.backends.cudnn.allow_tf32 = tf32
    shape = f"{backbone} B={batch} T={steps} {size}x{size}"
    autocast = "cuda bf16 autocast (the training loop's)" if cuda else "cpu bf16 autocast (CPU training runs fp32)"

    gpu_vps: float | None = None
    table: tuple[str, float] | None = None
    train: dict[str, Any] = {}
    if cuda:
        fwd = count_params_and_flops("two_branch", backbone, size, 8)[1]
        rate = train_rate_fitting(backbone, 8, size, warmup=2 if quick else 5, timed=3 if quick else 30)
        gpu_vps = rate["videos_per_s"]
        table = throughput.peak_tflops(name)
        measured = gpu_kernels.matmul_peak_tflops(2048 if quick else 8192)
        tflops = throughput.achieved_tflops(fwd, gpu_vps)
        train = {
            "videos_per_s": round(gpu_vps, 1),
            "achieved_tflops": round(tflops, 1),
            "flops": f"3 x {fwd / 1e9:.1f} GFLOPs forward per video (forward + backward ~ 3 forwards)",
            "table_peak": {"key": table[0], "tflops": table[1]} if table else "not in the table",
            "matmul_peak_tflops": round(measured, 1),
            "mfu_vs_matmul_peak": round(tflops / measured, 3),
            "peak_gib": round(rate["peak_gib"], 2),
            "shape": f"{backbone} B={rate['batch']} T=8 {size}x{size} bf16 channels_last, SGD (rlx.train.fit)",
        }
    else:
        skip(skipped, "train videos/s at B=24 T=8 224² and TFLOP/s vs peak: needs CUDA (bf16 autocast is CUDA-only)")
        skip(skipped, "bf16 matmul peak: needs CUDA")

    d = 1024 if not quick else 32  # the R-LSTM's θ/φ width at C = 2048 (hidden C/2), 4 gates as heads
    sdpa_shape = (24 * 8, 4, 49, d) if cuda and not quick else (2, 4, 49, d)
    sdpa = gpu_kernels.sdpa_backends(sdpa_shape, device, torch.bfloat16 if cuda else torch.float32)
    rl = (2048, 24, 8) if cuda and not quick else ((64, 2, 3) if quick else (2048, 1, 4))
    rlstm = gpu_kernels.rlstm_fused_vs_reference(*rl, 7, device, amp=cuda, repeats=2 if quick else 5)
    if not cuda:
        skip(skipped, "SDPA backend at the training shape (192, 4, 49, 1024) bf16: needs CUDA; CPU shape reported")

    data = decode_all_cpus(quick)
    flow = data_flow.run(quick)
    if gpu_vps is None:
        skip(skipped, "predicted data-wait fraction: needs the GPU's videos/s")
    env["skipped"] = skipped
    results = [
        BenchResult(
            name="gpu.bf16_vs_fp32_agreement",
            value=round(agree["logits"]["max_rel"], 5),
            unit="max |bf16-fp32| / max |fp32| of the logits",
            baseline="fp32 forward+backward (TF32 off)",
            candidate=autocast,
            details={
                "shape": shape,
                **{k: _rounded(v) for k, v in agree.items()},
                **env,
            },
        ),
        BenchResult(
            name="gpu.rlstm_fused_vs_reference",
            value=rlstm["speedup"],
            unit="x",
            baseline="reference R-LSTM (per-gate matmul + softmax) fwd+bwd",
            candidate="fused R-LSTM (SDPA, gates as heads) fwd+bwd",
            details={
                "shape": f"C={rl[0]} B={rl[1]} T={rl[2]} 7x7" + (" bf16 autocast" if cuda else " fp32"),
                **rlstm,
                "sdpa": sdpa,
                **env,
            },
        ),
    ]
    if train:
        results.append(
            BenchResult(
                name="gpu.train_mfu",
                value=round(train["achieved_tflops"] / train["table_peak"]["tflops"], 3) if table else 0.0,
                unit="achieved / table bf16 peak",
                baseline="dense bf16 peak of the device (rlx.bench.throughput.PEAK_BF16_TFLOPS)",
                candidate="training TFLOP/s of rlx.train.loop at the paper's shape",
                details={**train, **env},
            )
        )
    results.append(
        BenchResult(
            name="gpu.data_wait_predicted",
            value=round(throughput.data_wait_fraction(data["videos_per_s"], gpu_vps), 3) if gpu_vps else -1.0,
            unit="fraction of step time (-1: not measured, no GPU)",
            baseline="GPU training videos/s (gpu.train_mfu)",
            candidate=f"rgb train view decoded by {data['cpus']} processes (all CPUs), videos/s",
            details={
                "decode_videos_per_s_all_cpus": round(data["videos_per_s"], 1),
                "gpu_videos_per_s": round(gpu_vps, 1) if gpu_vps else None,
                "model": "wait = max(0, 1 - decode/GPU) (rlx.bench.throughput)",
                **data,
                **env,
            },
        )
    )
    for r in flow:
        r.details.update(env)
    return results + flow
