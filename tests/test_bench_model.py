"""rlx.bench.model: the quick run returns ratios with their baselines (no timing asserts)."""

import torch

from rlx.bench import model


def test_quick_model_bench_results_are_ratios_with_baselines():
    results = model.run(quick=True)
    names = {r.name for r in results}
    assert {
        "model.two_branch_vs_tsn_step_time",
        "model.two_branch_vs_tsn_params",
        "model.two_branch_vs_tsn_flops",
    } <= names
    for r in results:
        assert r.unit == "x" and r.value > 0 and r.baseline and r.candidate
    params = next(r for r in results if r.name == "model.two_branch_vs_tsn_params")
    assert params.value == round(params.details["two_branch"] / params.details["tsn"], 3)
    assert params.value > 1  # the relational branch adds parameters


def test_attention_at_init_compares_unscaled_with_scaled_on_both_inputs():
    results = {r.name: r for r in model.bench_attention(channels=32, batch=2, steps=3, size=3)}
    assert set(results) == {"model.attn_at_init_iid_C32", "model.attn_at_init_conv5like_C32"}
    for r in results.values():
        d = r.details
        assert r.value == round(d["unscaled_attn_max_x"] / d["scaled_attn_max_x"], 3)
        assert d["uniform_max"] <= d["scaled_attn_max_x"] < d["unscaled_attn_max_x"] <= 1  # 1/√d spreads it
        assert 0 <= d["unscaled_attn_entropy_x"] < d["scaled_attn_entropy_x"] <= d["uniform_entropy"]
        assert {"unscaled_attn_entropy_h", "unscaled_attn_max_h", "scaled_attn_entropy_h"} <= set(d)


def test_conv5like_inputs_have_the_stated_variance_shares():
    x = model.conv5like_maps(64, 32, 16, 7, torch.Generator().manual_seed(0))  # (B, T, C, 7, 7)
    # A video's mean over 32 snippets × 49 positions keeps its own share plus ~0.1/32 of the snippets'.
    video_share = x.mean(dim=(1, 3, 4)).var().item()
    assert abs(x.var().item() - 1) < 0.05
    assert abs(video_share - model.CONV5LIKE_SHARES[0]) < 0.05
    normed = model.post_batchnorm(x)
    assert normed.mean(dim=(0, 1, 3, 4)).abs().max() < 1e-5
    assert (normed.var(dim=(0, 1, 3, 4), unbiased=False) - 1).abs().max() < 1e-3
