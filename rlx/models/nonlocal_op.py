"""The generalized non-local operation r(X, Y) (PAPER.md §1).

    z_i = Σ_j ω_ij · g(y_j),   ω_ij = f(x_i, y_j) / Σ_k f(x_i, y_k)

Queries come from X (N positions × C_x channels), keys and values from Y
(N positions × C_y). `NonLocalOps` holds `heads` independent operations that
share their inputs — the R-LSTM uses heads=4, one per gate (i, f, g, o),
exactly as nn.LSTM fuses its four gates into one weight matrix.

Two implementations compute the same function from the same parameters:
- `forward_reference`: one explicit matmul + softmax per head; the readable
  definition, used by tests and the benchmark as ground truth;
- `forward` (fused): all heads in one batched call to
  `F.scaled_dot_product_attention` (flash / memory-efficient kernels on GPU).

Pairwise functions f:
- `embedded_gaussian` (default): f = exp(θ(x)ᵀ φ(y)), θ/φ learned linear maps.
- `gaussian`: f = exp(xᵀ y), θ = φ = identity. Identity needs C_x == C_y; when
  they differ (the R-LSTM's state-to-state op: X has C, H has C/2 channels)
  the query alone is linearly projected to C_y. That is the smallest change
  that keeps the form, and the only place rlx departs from it.
- `dot_product`: f = θ(x)ᵀ φ(y), normalised by N instead of a softmax.
`scale=True` divides θᵀφ by √d; the paper does not (default False).
"""

from __future__ import annotations

import math
from typing import get_args

import torch
import torch.nn.functional as F
from torch import nn

from rlx.config import Pairwise


class NonLocalOps(nn.Module):
    """`heads` non-local operations r_h(X, Y), h = 1..heads, evaluated together.

    Shapes: x (B, N, C_x), y (B, N_y, C_y) -> (B, N, heads, out_channels).
    """

    def __init__(
        self,
        query_channels: int,
        key_channels: int,
        out_channels: int,
        inter_channels: int,
        heads: int = 1,
        pairwise: Pairwise = "embedded_gaussian",
        scale: bool = False,
    ) -> None:
        super().__init__()
        if pairwise not in get_args(Pairwise):
            raise ValueError(f"unknown pairwise function {pairwise!r} ({', '.join(get_args(Pairwise))})")
        self.heads = heads
        self.out_channels = out_channels
        self.pairwise = pairwise
        self.scale = scale
        if pairwise == "gaussian":
            # θ = φ = identity: one similarity shared by all heads, only g differs.
            self.inter_channels = key_channels
            self.theta = None if query_channels == key_channels else nn.Linear(query_channels, key_channels)
            self.phi = None
        else:
            self.inter_channels = inter_channels
            self.theta = nn.Linear(query_channels, heads * inter_channels)
            self.phi = nn.Linear(key_channels, heads * inter_channels)
        self.g = nn.Linear(key_channels, heads * out_channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-Glorot per operation, zero biases (PAPER.md §2: the new parts are Xavier-initialised).

        The heads are stored fused — rows [h·d, (h+1)·d) of θ and φ, [h·out,
        (h+1)·out) of g belong to head h — but each is initialised as the
        separate linear map the paper describes, with its own fan-in/fan-out.
        Xavier on the fused matrix would count a fan-out of heads·d: about
        1.4-1.6× smaller weights in the R-LSTM (4 heads) than eight
        separately initialised operations.
        """
        similarities = 1 if self.pairwise == "gaussian" else self.heads  # gaussian: one θ shared by all heads
        for layer, operations in ((self.theta, similarities), (self.phi, similarities), (self.g, self.heads)):
            if layer is None:
                continue
            for rows in layer.weight.chunk(operations):  # views into the fused weight: (out, in) per operation
                nn.init.xavier_uniform_(rows)
            nn.init.zeros_(layer.bias)

    def logit_scale(self) -> float:
        return 1.0 / math.sqrt(self.inter_channels) if self.scale else 1.0

    # -- the fused path, split in two so the R-LSTM can hoist X's projections out of its loop
    def attend_projected(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """θ(x) (B, N, S·d), φ(y) (B, N_y, S·d), g(y) (B, N_y, heads·out) -> z (B, N, heads, out).

        S = 1 for gaussian (its similarity is shared by the heads), else heads.
        """
        b, n, _ = q.shape
        n_y = k.shape[1]
        s = 1 if self.pairwise == "gaussian" else self.heads
        q = q.view(b, n, s, -1).transpose(1, 2)  # (B, N, S·d) -> (B, S, N, d)
        k = k.view(b, n_y, s, -1).transpose(1, 2)  # (B, N_y, S·d) -> (B, S, N_y, d)
        # Shared similarity: the heads' values stay stacked along channels, one attention for all.
        v = v.view(b, n_y, s, -1).transpose(1, 2)  # (B, N_y, heads·out) -> (B, S, N_y, heads·out/S)
        if self.pairwise == "dot_product":
            # f = θᵀφ / N has no softmax: reassociate (QKᵀ)V = Q(KᵀV), O(N·d·out) instead of O(N²).
            z = q @ (k.transpose(-2, -1) @ v) * (self.logit_scale() / n_y)
        else:
            z = F.scaled_dot_product_attention(q, k, v, scale=self.logit_scale())
        return z.transpose(1, 2).reshape(b, n, self.heads, self.out_channels)  # (B, S, N, ·) -> (B, N, heads, out)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Fused r(X, Y): (B, N, C_x), (B, N_y, C_y) -> (B, N, heads, out)."""
        if x is y:  # r(X, X): θ, φ and g read the same input, one GEMM for all three
            q, k, v = LinearGroup([self.theta, self.phi, self.g])(x)
        else:
            (q,) = LinearGroup([self.theta])(x)
            k, v = LinearGroup([self.phi, self.g])(y)
        return self.attend_projected(q, k, v)

    def attention_weights(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """ω (B, S, N, N_y): the softmax weights of each similarity (S = heads; 1 for gaussian, shared).

        For diagnostics (`rlx.models.attention_stats`); `dot_product` has no
        softmax (its f = θᵀφ/N is signed and does not sum to 1) and raises.
        """
        if self.pairwise == "dot_product":
            raise ValueError("pairwise 'dot_product' has no attention weights: f = θᵀφ / N is not a softmax")
        b, n, _ = x.shape
        s = 1 if self.pairwise == "gaussian" else self.heads
        q = x if self.theta is None else self.theta(x)
        k = y if self.phi is None else self.phi(y)
        q = q.view(b, n, s, -1).transpose(1, 2)  # (B, N, S·d) -> (B, S, N, d)
        k = k.view(b, y.shape[1], s, -1).transpose(1, 2)  # (B, N_y, S·d) -> (B, S, N_y, d)
        return torch.softmax(q @ k.transpose(-2, -1) * self.logit_scale(), dim=-1)

    def forward_reference(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The definition, one head at a time: explicit θ/φ/g, matmul, softmax, matmul."""
        outputs = []
        for h in range(self.heads):
            s = 0 if self.pairwise == "gaussian" else h
            d, o = self.inter_channels, self.out_channels
            qk_rows, g_rows = slice(s * d, (s + 1) * d), slice(h * o, (h + 1) * o)  # this head's rows of θ, φ, g
            theta_x = x if self.theta is None else F.linear(x, self.theta.weight[qk_rows], self.theta.bias[qk_rows])
            phi_y = y if self.phi is None else F.linear(y, self.phi.weight[qk_rows], self.phi.bias[qk_rows])
            g_y = F.linear(y, self.g.weight[g_rows], self.g.bias[g_rows])
            logits = theta_x @ phi_y.transpose(1, 2) * self.logit_scale()  # (B, N, N_y)
            if self.pairwise == "dot_product":
                weights = logits / y.shape[1]
            else:
                weights = torch.softmax(logits, dim=-1)
            outputs.append(weights @ g_y)  # (B, N, out)
        return torch.stack(outputs, dim=2)  # (B, N, heads, out)


class LinearGroup:
    """Several linear maps of one input computed as a single GEMM.

    The weights are concatenated once (per forward pass, so gradients flow to
    the original parameters) and the output is split back; `None` stands for
    the identity (the gaussian form's θ = φ = identity).
    """

    def __init__(self, layers: list[nn.Linear | None]) -> None:
        self.layers = layers
        real = [layer for layer in layers if layer is not None]
        self.sizes = [layer.out_features for layer in real]
        self.weight = torch.cat([layer.weight for layer in real]) if real else None
        self.bias = torch.cat([layer.bias for layer in real]) if real else None

    def __call__(self, x: torch.Tensor) -> list[torch.Tensor]:
        parts = iter(F.linear(x, self.weight, self.bias).split(self.sizes, dim=-1) if self.sizes else ())
        return [x if layer is None else next(parts) for layer in self.layers]
