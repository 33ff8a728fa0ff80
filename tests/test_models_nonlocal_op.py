"""The generalized non-local op: fused == reference, and the reference == the paper's formula."""

from typing import get_args

import pytest
import torch
from torch.testing import assert_close

from rlx.config import Pairwise
from rlx.models.nonlocal_op import NonLocalOps

PAIRWISE = get_args(Pairwise)


def make(pairwise, scale=False, cq=12, ck=12, heads=4):
    torch.manual_seed(0)
    op = NonLocalOps(cq, ck, out_channels=5, inter_channels=6, heads=heads, pairwise=pairwise, scale=scale)
    for p in op.parameters():  # non-zero biases so they are checked too
        torch.nn.init.normal_(p, std=0.3)
    return op


@pytest.mark.parametrize("pairwise", PAIRWISE)
@pytest.mark.parametrize("scale", [False, True])
@pytest.mark.parametrize("ck", [12, 7])  # equal channels (r(X, X)) and the state side (r(X, H))
def test_fused_matches_reference_values_and_gradients(pairwise, scale, ck):
    op = make(pairwise, scale, ck=ck)
    x = torch.randn(3, 10, 12, requires_grad=True)
    y = torch.randn(3, 9, ck, requires_grad=True)
    fused, ref = op(x, y), op.forward_reference(x, y)
    assert fused.shape == (3, 10, 4, 5)
    assert_close(fused, ref, rtol=1e-5, atol=1e-5)
    weights = torch.randn_like(fused)
    inputs = [x, y, *op.parameters()]
    grads_fused = torch.autograd.grad((fused * weights).sum(), inputs)
    grads_ref = torch.autograd.grad((ref * weights).sum(), inputs)
    for a, b in zip(grads_fused, grads_ref, strict=True):
        assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_embedded_gaussian_reference_is_the_paper_formula():
    op = make("embedded_gaussian", heads=1)
    x, y = torch.randn(1, 4, 12), torch.randn(1, 3, 12)
    theta = x[0] @ op.theta.weight.T + op.theta.bias
    phi = y[0] @ op.phi.weight.T + op.phi.bias
    g = y[0] @ op.g.weight.T + op.g.bias
    f = torch.exp(theta @ phi.T)  # f(x_i, y_j) = exp(θ(x_i)ᵀ φ(y_j))
    omega = f / f.sum(dim=1, keepdim=True)
    assert_close(op.forward_reference(x, y)[0, :, 0], omega @ g)
    assert_close(op(x, y)[0, :, 0], omega @ g)


def test_scale_divides_logits_by_sqrt_d():
    scaled, plain = make("embedded_gaussian", scale=True, heads=1), make("embedded_gaussian", heads=1)
    with torch.no_grad():  # θ/√d with scale off must equal scale on
        plain.theta.weight /= 6**0.5
        plain.theta.bias /= 6**0.5
    x, y = torch.randn(2, 5, 12), torch.randn(2, 5, 12)
    assert_close(scaled(x, y), plain(x, y))


def test_dot_product_is_normalised_by_n_not_softmax():
    op = make("dot_product", heads=1)
    x, y = torch.randn(1, 4, 12), torch.randn(1, 6, 12)
    theta, phi, g = op.theta(x[0]), op.phi(y[0]), op.g(y[0])
    assert_close(op(x, y)[0, :, 0], (theta @ phi.T / 6) @ g, rtol=1e-5, atol=1e-5)


def test_gaussian_uses_raw_features_and_shares_similarity_across_heads():
    op = make("gaussian")
    assert op.theta is None and op.phi is None
    x = torch.randn(1, 5, 12)
    w = torch.softmax(x[0] @ x[0].T, dim=1)  # f = exp(xᵀy), no embedding
    g = op.g(x[0]).view(5, 4, 5)
    for h in range(4):
        assert_close(op(x, x)[0, :, h], w @ g[:, h], rtol=1e-5, atol=1e-5)


def test_single_key_position_reduces_to_g():
    # Softmax over one position is 1: z = g(y) whatever the queries.
    op = make("embedded_gaussian")
    x, y = torch.randn(2, 3, 12), torch.randn(2, 1, 12)
    expected = op.g(y).view(2, 1, 4, 5).expand(2, 3, 4, 5)
    assert_close(op(x, y), expected)


def test_unknown_pairwise_is_rejected_by_name():
    with pytest.raises(ValueError, match="unknown pairwise function 'cosine'"):
        NonLocalOps(4, 4, 4, 4, pairwise="cosine")
