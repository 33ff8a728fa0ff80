"""Throughput arithmetic shared by `rlx.bench.gpu` and `rlx.bench.sizing`: pure functions, no torch.

- GPU peaks: dense (no 2:4 sparsity) bf16 tensor-core TFLOP/s of known GPUs,
  looked up by the name `torch.cuda.get_device_name()` returns.
- Achieved TFLOP/s and MFU from counted FLOPs and measured videos/s.
- The data-wait model: with prefetching (Ray Data streams batches ahead of
  the training loop) the loop runs at min(decode rate, GPU rate); a step
  waits for data only for the share of its time the decoders fall short:
      wait = max(0, 1 - decode_videos_per_s / gpu_videos_per_s).
  Decode rate = CPUs x per-core videos/s x parallel efficiency (vCPUs are
  hyperthreads; per-core figures are measured one process at a time).
"""

from __future__ import annotations

import math

# Dense bf16 tensor TFLOP/s (FP32 accumulate), from NVIDIA's datasheets; sparse figures are 2x these.
# A10G: NVIDIA publishes no datasheet for it (an AWS-only part of the A10, GA102 at lower clocks); ~70 is the
# commonly quoted figure, an assumption until `python -m rlx.bench gpu` measures its matmul peak on one.
# Keys are matched case-insensitively as substrings of the device name, longest key first
# ("A100" before "A10", "H100 PCIe" before "H100").
PEAK_BF16_TFLOPS: dict[str, float] = {
    "B200": 2250.0,
    "H200": 989.4,  # same SXM compute as H100; more and faster memory
    "GH200": 989.4,
    "H100 PCIe": 756.0,
    "H100": 989.4,  # SXM (device names "NVIDIA H100 80GB HBM3")
    "A100": 312.0,  # SXM and PCIe, 40 and 80 GB
    "L40S": 362.0,
    "L4": 121.0,
    "A10G": 70.0,  # assumption, see above
    "A10": 125.0,
}


def peak_tflops(device_name: str) -> tuple[str, float] | None:
    """(matched key, dense bf16 TFLOP/s) of the first table key found in `device_name`, or None."""
    name = device_name.lower()
    for key in sorted(PEAK_BF16_TFLOPS, key=len, reverse=True):
        if key.lower() in name:
            return key, PEAK_BF16_TFLOPS[key]
    return None


# Training costs forward + backward; the backward of a conv/linear layer is two matmuls of the forward's size
# (gradient w.r.t. input and w.r.t. weight), so a training step is ~3x the forward's FLOPs.
TRAIN_FLOPS_PER_FORWARD = 3.0


def achieved_tflops(forward_flops_per_video: float, videos_per_s: float) -> float:
    """Training TFLOP/s: 3 x counted forward FLOPs per video x videos/s."""
    return TRAIN_FLOPS_PER_FORWARD * forward_flops_per_video * videos_per_s / 1e12


def videos_per_s_at_mfu(forward_flops_per_video: float, peak: float, mfu: float) -> float:
    """Training videos/s a GPU of `peak` TFLOP/s reaches at model-FLOPs utilisation `mfu` (0-1)."""
    return mfu * peak * 1e12 / (TRAIN_FLOPS_PER_FORWARD * forward_flops_per_video)


def data_wait_fraction(decode_videos_per_s: float, gpu_videos_per_s: float) -> float:
    """Predicted share of training time spent waiting for data: max(0, 1 - decode rate / GPU rate)."""
    if gpu_videos_per_s <= 0:
        raise ValueError(f"gpu_videos_per_s must be > 0, got {gpu_videos_per_s}")
    return max(0.0, 1.0 - decode_videos_per_s / gpu_videos_per_s)


def decode_cpus_needed(
    gpu_videos_per_s: float, per_core_videos_per_s: float, max_wait: float = 0.1, efficiency: float = 0.8
) -> int:
    """Fewest CPUs whose decode rate keeps `data_wait_fraction` <= `max_wait` for a GPU rate of `gpu_videos_per_s`.

    wait <= w  <=>  cpus x per_core x efficiency >= (1 - w) x gpu rate.
    """
    if per_core_videos_per_s <= 0 or not 0 < efficiency <= 1 or not 0 <= max_wait < 1:
        raise ValueError(
            f"need per-core rate > 0, efficiency in (0, 1], max_wait in [0, 1): "
            f"{per_core_videos_per_s}, {efficiency}, {max_wait}"
        )
    need = (1.0 - max_wait) * gpu_videos_per_s / (per_core_videos_per_s * efficiency)
    return math.ceil(need - 1e-9)  # 1e-9: an exact fit is not rounded up by float error
