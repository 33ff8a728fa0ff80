"""Attention diagnostics: the weights are the operation's, the statistics are computed by hand on small cases."""

import dataclasses
import math

import pytest
import torch
from torch.testing import assert_close

from rlx.models import RelationalLSTM
from rlx.models.attention_stats import attention_statistics
from rlx.models.nonlocal_op import NonLocalOps


@pytest.mark.parametrize(
    "pairwise,scale", [("embedded_gaussian", False), ("embedded_gaussian", True), ("gaussian", False)]
)
def test_attention_weights_are_the_ones_the_operation_averages_with(pairwise, scale):
    torch.manual_seed(0)
    ops = NonLocalOps(6, 4, 3, 5, heads=4, pairwise=pairwise, scale=scale)
    x, y = torch.randn(2, 7, 6), torch.randn(2, 7, 4)
    weights = ops.attention_weights(x, y)  # (B, S, N, N_y)
    assert weights.shape == (2, 1 if pairwise == "gaussian" else 4, 7, 7)
    assert_close(weights.sum(-1), torch.ones(weights.shape[:-1]))
    g = ops.g(y).view(2, 7, 4, 3).transpose(1, 2)  # (B, N_y, heads·out) -> (B, heads, N_y, out)
    assert_close((weights @ g).transpose(1, 2), ops.forward_reference(x, y))


def test_dot_product_has_no_weights_and_no_statistics():
    m = RelationalLSTM(4, 2, pairwise="dot_product")
    with pytest.raises(ValueError, match="'dot_product' has no attention weights"):
        m.cell.input_ops.attention_weights(torch.randn(1, 3, 4), torch.randn(1, 3, 4))
    assert attention_statistics(m, torch.randn(1, 2, 4, 1, 3)) is None


def test_zero_similarity_gives_uniform_weights():
    m = RelationalLSTM(4, 2)
    for ops in (m.cell.input_ops, m.cell.state_ops):
        torch.nn.init.zeros_(ops.theta.weight)
    stats = attention_statistics(m, torch.randn(2, 3, 4, 2, 3))
    assert dataclasses.astuple(stats) == pytest.approx((math.log(6), 1 / 6, math.log(6), 1 / 6, 6))


def test_two_positions_by_hand():
    # C = 2, hidden = inter = 1. θ picks channel 0, φ channel 0 (every head): the input-to-state logits
    # at a query with x_0 = a are (a·a, a·b) for positions with first channels (a, b).
    m = RelationalLSTM(2, 1)
    ops = m.cell.input_ops
    with torch.no_grad():
        ops.theta.weight.copy_(torch.tensor([[1.0, 0.0]]).repeat(4, 1))
        ops.phi.weight.copy_(torch.tensor([[1.0, 0.0]]).repeat(4, 1))
    x = torch.tensor([[1.0, 2.0], [9.0, 9.0]]).view(1, 1, 2, 1, 2)  # (B, T, C, H, W): channel 0 = (1, 2)

    def entropy_and_max(logits):
        w = torch.softmax(torch.tensor(logits), 0)
        return -(w * w.log()).sum().item(), w.max().item()

    e0, m0 = entropy_and_max([1.0, 2.0])  # query 1: θ = 1, φ = (1, 2)
    e1, m1 = entropy_and_max([2.0, 4.0])  # query 2: θ = 2
    stats = attention_statistics(m, x)
    assert stats.entropy_x == pytest.approx((e0 + e1) / 2) and stats.max_x == pytest.approx((m0 + m1) / 2)
    assert math.isnan(stats.entropy_h) and math.isnan(stats.max_h)  # T = 1: no state-to-state step counts
    assert set(stats.as_metrics()) == {"model/attn_entropy_x", "model/attn_max_x"}


def test_state_statistics_skip_the_first_step_and_follow_the_recurrence():
    torch.manual_seed(0)
    m = RelationalLSTM(8, 4)
    x = torch.randn(2, 3, 8, 2, 2)
    stats = attention_statistics(m, x)
    seq = x.flatten(3).transpose(2, 3)  # (B, T, N, C)
    outputs, _ = m(x)
    hs = outputs.flatten(3).transpose(2, 3)  # H_1, H_2, H_3: (B, T, N, hidden)
    with torch.no_grad():
        w = [m.cell.state_ops.attention_weights(seq[:, t], hs[:, t - 1]) for t in (1, 2)]  # steps 2 and 3
    expected_max = sum(wt.amax(-1).mean().item() for wt in w) / 2
    expected_entropy = sum(torch.special.entr(wt).sum(-1).mean().item() for wt in w) / 2
    assert stats.max_h == pytest.approx(expected_max, rel=1e-5)
    assert stats.entropy_h == pytest.approx(expected_entropy, rel=1e-5)
    assert set(stats.as_metrics()) == {f"model/attn_{k}" for k in ("entropy_x", "max_x", "entropy_h", "max_h")}


def test_scaling_spreads_the_attention():
    torch.manual_seed(0)
    x = torch.randn(1, 2, 64, 3, 3)
    unscaled = attention_statistics(RelationalLSTM(64, 32), x)
    torch.manual_seed(0)
    scaled = attention_statistics(RelationalLSTM(64, 32, scale=True), x)
    assert scaled.entropy_x > unscaled.entropy_x and scaled.max_x < unscaled.max_x
