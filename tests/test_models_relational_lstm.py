"""Relational LSTM: shapes, fused == reference, reduction to nn.LSTM, symmetry properties."""

from typing import get_args

import pytest
import torch
from torch.testing import assert_close

from rlx.config import Pairwise
from rlx.models import RelationalLSTM


def rlstm(pairwise="embedded_gaussian", c=8, hidden=6, impl="fused", seed=0):
    torch.manual_seed(seed)
    m = RelationalLSTM(c, hidden, pairwise=pairwise, impl=impl)
    for p in m.parameters():  # larger than Xavier so the gates are far from linear
        torch.nn.init.normal_(p, std=0.4)
    return m


def test_shapes_and_spatial_layout():
    m = RelationalLSTM(16, 8)
    outputs, (h, c) = m(torch.randn(2, 5, 16, 3, 4))
    assert outputs.shape == (2, 5, 8, 3, 4)
    assert h.shape == c.shape == (2, 8, 3, 4)
    assert_close(outputs[:, -1], h)  # the last output is H_T


@pytest.mark.parametrize("pairwise", get_args(Pairwise))
def test_fused_matches_reference_forward_and_backward(pairwise):
    m = rlstm(pairwise)
    x = torch.randn(2, 4, 8, 3, 3, requires_grad=True)
    weights = torch.randn(2, 4, 6, 3, 3)
    results = {}
    for impl in ("fused", "reference"):
        m.impl = impl
        out, (h, c) = m(x)
        loss = (out * weights).sum() + c.sum()
        results[impl] = (out, c, torch.autograd.grad(loss, [x, *m.parameters()]))
    (o1, c1, g1), (o2, c2, g2) = results["fused"], results["reference"]
    assert_close(o1, o2, rtol=1e-5, atol=1e-5)
    assert_close(c1, c2, rtol=1e-5, atol=1e-5)
    for a, b in zip(g1, g2, strict=True):
        assert_close(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("impl", ["fused", "reference"])
def test_one_position_reduces_to_nn_lstm(impl):
    # With H = W = 1 every r(X, Y) is g(Y) = W_g y + b_g: Eq. 3 becomes the LSTM.
    m = rlstm(impl=impl)
    lstm = torch.nn.LSTM(8, 6, batch_first=True)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(m.cell.input_ops.g.weight)
        lstm.bias_ih_l0.copy_(m.cell.input_ops.g.bias)
        lstm.weight_hh_l0.copy_(m.cell.state_ops.g.weight)
        lstm.bias_hh_l0.copy_(m.cell.state_ops.g.bias)
    x = torch.randn(3, 7, 8)
    out, (h, c) = m(x.view(3, 7, 8, 1, 1))
    ref_out, (ref_h, ref_c) = lstm(x)
    assert_close(out.view(3, 7, 6), ref_out, rtol=1e-5, atol=1e-5)
    assert_close(c.view(3, 6), ref_c[0], rtol=1e-5, atol=1e-5)


def test_zero_initial_state_is_the_default():
    m = rlstm()
    x = torch.randn(2, 3, 8, 2, 2)
    zeros = torch.zeros(2, 6, 2, 2)
    assert_close(m(x)[0], m(x, (zeros, zeros))[0])
    assert not torch.allclose(m(x)[0], m(x, (zeros + 0.5, zeros))[0])


def test_equivariant_to_a_permutation_of_positions():
    m = rlstm()
    x = torch.randn(2, 4, 8, 3, 3)
    perm = torch.randperm(9)

    def permute(t):  # the same permutation of positions at every t
        return t.flatten(-2)[..., perm].view(t.shape)

    out, (h, _) = m(x)
    out_p, (h_p, _) = m(permute(x))
    assert_close(out_p, permute(out), rtol=1e-5, atol=1e-5)
    assert_close(h_p, permute(h), rtol=1e-5, atol=1e-5)


def test_sensitive_to_the_order_of_steps():
    m = rlstm()
    x = torch.randn(2, 5, 8, 3, 3)
    _, (h, _) = m(x)
    _, (h_rev, _) = m(x.flip(1))
    assert (h - h_rev).abs().max() > 1e-2


def xavier_bound(rows: torch.Tensor) -> float:
    return (6 / (rows.shape[0] + rows.shape[1])) ** 0.5


@pytest.mark.parametrize("pairwise", ["embedded_gaussian", "gaussian"])
def test_each_of_the_eight_operations_is_xavier_initialised_with_its_own_fans(pairwise):
    torch.manual_seed(0)
    m = RelationalLSTM(256, 128, pairwise=pairwise)
    checked = 0
    for ops in (m.cell.input_ops, m.cell.state_ops):
        for layer, operations in ((ops.theta, 4), (ops.phi, 4), (ops.g, 4)):
            if layer is None:
                continue
            if pairwise == "gaussian" and layer is not ops.g:
                operations = 1  # θ = φ = identity, one query projection shared by the four gates
            fused = xavier_bound(layer.weight)
            for rows in layer.weight.chunk(operations):
                bound = xavier_bound(rows)  # this operation's fan-in/fan-out
                # 16k+ uniform samples: the largest lies within 0.1 % of the bound, far above the fused one
                assert bound * 0.99 < rows.abs().max() <= bound
                assert operations == 1 or rows.abs().max() > 1.3 * fused
                assert abs(rows.std().item() - bound / 3**0.5) < 0.02 * bound
                checked += 1
            assert (layer.bias == 0).all()
    assert checked == (2 * 4 if pairwise == "gaussian" else 3 * 8) + (1 if pairwise == "gaussian" else 0)


def test_bad_input_shape_names_the_expected_layout():
    with pytest.raises(ValueError, match=r"expects \(B, T, 8, H, W\)"):
        RelationalLSTM(8, 4)(torch.randn(2, 3, 8, 4))
