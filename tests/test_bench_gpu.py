"""`rlx.bench.gpu` on CPU (what it runs, what it skips) and the throughput arithmetic it reports."""

from __future__ import annotations

import pytest
import torch

from rlx.bench import gpu, gpu_kernels, throughput


@pytest.mark.parametrize(
    ("name", "key", "tflops"),
    [
        ("NVIDIA H200", "H200", 989.4),
        ("NVIDIA H100 80GB HBM3", "H100", 989.4),
        ("NVIDIA H100 PCIe", "H100 PCIe", 756.0),
        ("NVIDIA A100-SXM4-40GB", "A100", 312.0),
        ("NVIDIA A10G", "A10G", 70.0),
        ("NVIDIA A10", "A10", 125.0),
        ("NVIDIA L4", "L4", 121.0),
        ("NVIDIA L40S", "L40S", 362.0),
    ],
)
def test_peak_lookup_prefers_the_longest_matching_key(name, key, tflops):
    assert throughput.peak_tflops(name) == (key, tflops)


def test_unknown_device_has_no_peak():
    assert throughput.peak_tflops("Tesla T4") is None


def test_tflops_count_forward_and_backward_as_three_forwards():
    assert throughput.achieved_tflops(100e9, 10.0) == pytest.approx(3.0)  # 3 x 100 GFLOP x 10/s
    assert throughput.videos_per_s_at_mfu(100e9, peak=300.0, mfu=0.5) == pytest.approx(500.0)


def test_data_wait_is_the_share_decoding_falls_short():
    assert throughput.data_wait_fraction(50.0, 100.0) == pytest.approx(0.5)
    assert throughput.data_wait_fraction(150.0, 100.0) == 0.0
    with pytest.raises(ValueError, match="gpu_videos_per_s"):
        throughput.data_wait_fraction(1.0, 0.0)


def test_decode_cpus_needed_meets_the_wait_bound_with_the_fewest_cpus():
    # 0.9 x 100 videos/s / (10 per core x 0.75) = 12 exactly: not rounded up to 13 by float error.
    assert throughput.decode_cpus_needed(100.0, 10.0, max_wait=0.1, efficiency=0.75) == 12
    need = throughput.decode_cpus_needed(262.0, 29.5, 0.1, 0.8)
    assert throughput.data_wait_fraction(need * 29.5 * 0.8, 262.0) <= 0.1
    assert throughput.data_wait_fraction((need - 1) * 29.5 * 0.8, 262.0) > 0.1
    with pytest.raises(ValueError, match="per-core rate"):
        throughput.decode_cpus_needed(100.0, 0.0)


def test_compare_reports_scale_free_error_and_cosine():
    ref = torch.tensor([1.0, -2.0, 4.0])
    out = gpu.compare(ref + torch.tensor([0.0, 0.0, 0.4]), ref)
    assert out["max_abs"] == pytest.approx(0.4) and out["max_rel"] == pytest.approx(0.1)
    assert gpu.compare(ref, ref)["cosine"] == pytest.approx(1.0)


def test_refusal_reasons_skip_headers_and_the_backends_switched_off_by_forcing():
    seen = [  # as an H200 gave them for FLASH_ATTENTION forced at head dim 1024 (the headers first)
        "Memory efficient kernel not used because: (Triggered internally at sdp_utils.cpp:986.)",
        "Memory Efficient attention has been runtime disabled. (Triggered internally at sdp_utils_cpp.h:552.)",
        "Flash attention kernel not used because: (Triggered internally at sdp_utils.cpp:988.)",
        "Flash attention requires last dimension of inputs to be <= 256. Got Query.size(-1): 1024",
    ]
    assert gpu_kernels.refusal_reasons(seen) == [seen[3]]  # the reason, without where it was raised
    assert gpu_kernels.refusal_reasons(seen[:2]) == []  # then the caller falls back to the error's text


def test_sdpa_backends_name_the_one_pytorch_runs():
    out = gpu_kernels.sdpa_backends((1, 2, 5, 8), torch.device("cpu"), torch.float32)
    assert out["accepts"]["MATH"] == "yes"
    assert out["chosen"] in gpu_kernels.SDPA_OPS.values()


def test_cpu_run_measures_what_it_can_and_lists_each_skip(monkeypatch):
    # The data parts (a process pool, flow extraction) are stubbed here; test_cpu_run_end_to_end runs them.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(gpu, "decode_all_cpus", lambda quick: {"videos_per_s": 5.0, "cpus": 2, "videos": 4})
    monkeypatch.setattr(gpu.data_flow, "run", lambda quick: [])
    results = {r.name: r for r in gpu.run(quick=True)}
    assert set(results) == {"gpu.bf16_vs_fp32_agreement", "gpu.rlstm_fused_vs_reference", "gpu.data_wait_predicted"}
    agree = results["gpu.bf16_vs_fp32_agreement"].details
    assert agree["device"] == "cpu" and 0.9 < agree["logits"]["cosine"] <= 1.0 + 1e-9
    # Each figure beside its noise floor (fp32 on the bf16-rounded input): a real difference, not a copy of fp32.
    floor = agree["logits"]["floor"]
    assert 0 < floor["max_abs"] and 0.9 < floor["cosine"] <= 1.0 + 1e-9
    assert agree["logits"]["max_abs_over_floor"] == pytest.approx(agree["logits"]["max_abs"] / floor["max_abs"], 1e-3)
    skipped = agree["skipped"]
    assert len(skipped) == 4 and any("videos/s" in s for s in skipped) and any("SDPA" in s for s in skipped)
    assert results["gpu.data_wait_predicted"].value == -1.0  # no GPU rate: not a made-up fraction


def test_train_rate_runs_the_training_loop_on_uint8_batches():
    rate = gpu.train_rate("resnetv2_small", batch=2, steps=2, size=48, warmup=1, timed=2, device=torch.device("cpu"))
    assert rate["videos_per_s"] > 0 and rate["batch"] == 2


@pytest.mark.slow
def test_cpu_run_end_to_end(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    results = {r.name: r for r in gpu.run(quick=True)}
    assert results["data.flow_rawframes_vs_rgb_video"].details["flow_videos_per_s_per_core"] > 0
    assert results["gpu.data_wait_predicted"].details["decode_videos_per_s_all_cpus"] > 0


def test_cuda_branch_reports_mfu_and_data_wait_from_its_measurements(monkeypatch):
    # Every measurement faked: this checks the arithmetic and wiring of the CUDA results, not a GPU.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "NVIDIA H200")
    monkeypatch.setattr(gpu, "agreement", lambda *a: {"logits": {"max_abs": 0.1, "max_rel": 0.01, "cosine": 1.0}})
    monkeypatch.setattr(gpu, "count_params_and_flops", lambda *a: (1, 100e9))
    monkeypatch.setattr(
        gpu, "train_rate_fitting", lambda *a, **k: {"videos_per_s": 1000.0, "peak_gib": 1.0, "batch": 24}
    )
    monkeypatch.setattr(gpu.gpu_kernels, "matmul_peak_tflops", lambda n: 600.0)
    monkeypatch.setattr(gpu.gpu_kernels, "sdpa_backends", lambda *a: {"chosen": "EFFICIENT_ATTENTION"})
    monkeypatch.setattr(gpu.gpu_kernels, "rlstm_fused_vs_reference", lambda *a, **k: {"speedup": 2.0})
    monkeypatch.setattr(gpu, "decode_all_cpus", lambda quick: {"videos_per_s": 250.0, "cpus": 16, "videos": 4})
    monkeypatch.setattr(gpu.data_flow, "run", lambda quick: [])
    results = {r.name: r for r in gpu.run(quick=False)}
    train = results["gpu.train_mfu"]
    assert train.details["achieved_tflops"] == 300.0  # 3 x 100 GFLOP x 1000 videos/s
    assert train.value == pytest.approx(300.0 / 989.4, abs=1e-3)
    assert train.details["mfu_vs_matmul_peak"] == 0.5
    assert results["gpu.data_wait_predicted"].value == 0.75  # 1 - 250 / 1000
    assert results["gpu.bf16_vs_fp32_agreement"].details["skipped"] == []
