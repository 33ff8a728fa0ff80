"""Relational LSTM (PAPER.md §2, Eq. 3): an LSTM whose gate transitions are
non-local operations over the H·W positions of a feature map.

    i_t = σ(r_ix(X_t, X_t) + r_ih(X_t, H_{t-1}))
    f_t = σ(r_fx(X_t, X_t) + r_fh(X_t, H_{t-1}))
    o_t = σ(r_ox(X_t, X_t) + r_oh(X_t, H_{t-1}))
    g_t = tanh(r_gx(X_t, X_t) + r_gh(X_t, H_{t-1}))
    C_t = f_t ∘ C_{t-1} + i_t ∘ g_t,   H_t = o_t ∘ tanh(C_t),   H_0 = C_0 = 0

The eight operations are two `NonLocalOps` with four heads each (gate order
i, f, g, o as in nn.LSTM): `input_ops` for the input-to-state r(X_t, X_t)
and `state_ops` for the state-to-state r(X_t, H_{t-1}). Everything that
depends only on X — all of input_ops and the queries of state_ops — is
computed for all T steps in one batched call before the time loop, as cuDNN
does for nn.LSTM; the loop only runs what needs H_{t-1}.

With H = W = 1 the softmax is over one position (weight 1), so r(X, Y) =
g(Y) and the cell is exactly nn.LSTM — tests use that as a reference.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
from torch import nn

from rlx.config import Pairwise
from rlx.models.nonlocal_op import LinearGroup, NonLocalOps

Impl = Literal["fused", "reference"]  # how to compute, not what: no config key
GATES = 4  # i, f, g, o


class RelationalLSTMCell(nn.Module):
    """One step. Positions are flattened: x (B, N, C), h and c (B, N, hidden)."""

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        inter_channels: int = 0,
        pairwise: Pairwise = "embedded_gaussian",
        scale: bool = False,
    ) -> None:
        super().__init__()
        inter = inter_channels or hidden_channels
        self.hidden_channels = hidden_channels
        self.input_ops = NonLocalOps(in_channels, in_channels, hidden_channels, inter, GATES, pairwise, scale)
        self.state_ops = NonLocalOps(in_channels, hidden_channels, hidden_channels, inter, GATES, pairwise, scale)

    @staticmethod
    def update(gates: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """gates (B, N, 4, hidden) pre-activations in order i, f, g, o -> (h, c)."""
        i, f, g, o = gates.unbind(dim=2)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c

    def forward_reference(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = state
        gates = self.input_ops.forward_reference(x, x) + self.state_ops.forward_reference(x, h)
        return self.update(gates, c)


class RelationalLSTM(nn.Module):
    """Relational LSTM over a sequence of feature maps.

    forward(x: (B, T, C, H, W)) -> (outputs (B, T, hidden, H, W), (h, c) each (B, hidden, H, W)).
    `impl` selects the fused (default) or the reference computation; both use
    the same parameters and agree to float32 round-off.
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        pairwise: Pairwise = "embedded_gaussian",
        inter_channels: int = 0,
        scale: bool = False,
        impl: Impl = "fused",
    ) -> None:
        super().__init__()
        if impl not in get_args(Impl):
            raise ValueError(f"unknown impl {impl!r} ({', '.join(get_args(Impl))})")
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.impl = impl
        self.cell = RelationalLSTMCell(in_channels, hidden_channels, inter_channels, pairwise, scale)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-Glorot per non-local operation, zero biases (PAPER.md §2; `NonLocalOps.reset_parameters`)."""
        self.cell.input_ops.reset_parameters()
        self.cell.state_ops.reset_parameters()

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        if x.dim() != 5 or x.shape[2] != self.in_channels:
            raise ValueError(f"RelationalLSTM expects (B, T, {self.in_channels}, H, W), got {tuple(x.shape)}")
        b, t, ch, height, width = x.shape
        n = height * width
        seq = x.flatten(3).transpose(2, 3)  # (B, T, C, H, W) -> (B, T, N, C)
        if state is None:
            h = seq.new_zeros(b, n, self.hidden_channels)
            c = seq.new_zeros(b, n, self.hidden_channels)
        else:
            h, c = (s.flatten(2).transpose(1, 2) for s in state)  # (B, hidden, H, W) -> (B, N, hidden)

        steps = self._run_fused(seq, h, c) if self.impl == "fused" else self._run_reference(seq, h, c)
        outputs = torch.stack([s[0] for s in steps], dim=1)  # T × (B, N, hidden) -> (B, T, N, hidden)
        outputs = outputs.transpose(2, 3).reshape(b, t, self.hidden_channels, height, width)  # -> (B, T, hidden, H, W)
        h, c = (s.transpose(1, 2).reshape(b, self.hidden_channels, height, width) for s in steps[-1])
        return outputs, (h, c)

    def _run_reference(
        self, seq: torch.Tensor, h: torch.Tensor, c: torch.Tensor
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        steps = []
        for x_t in seq.unbind(1):
            h, c = self.cell.forward_reference(x_t, (h, c))
            steps.append((h, c))
        return steps

    def _run_fused(
        self, seq: torch.Tensor, h: torch.Tensor, c: torch.Tensor
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        b, t, n, ch = seq.shape
        ops_x, ops_h = self.cell.input_ops, self.cell.state_ops
        flat = seq.reshape(b * t, n, ch)  # (B, T, N, C) -> (B·T, N, C)
        # Hoisted out of the loop, one GEMM: θ_x, φ_x, g_x of r_·x(X_t, X_t) and θ_h of r_·h(X_t, H_{t-1}), all t.
        q_x, k_x, v_x, q_h = LinearGroup([ops_x.theta, ops_x.phi, ops_x.g, ops_h.theta])(flat)
        input_gates = ops_x.attend_projected(q_x, k_x, v_x).view(b, t, n, GATES, self.hidden_channels)
        q_h = q_h.reshape(b, t, n, q_h.shape[-1])  # (B·T, N, S·d) -> (B, T, N, S·d)
        state_kv = LinearGroup([ops_h.phi, ops_h.g])  # weights concatenated once, reused every step
        steps = []
        # unbind, not [:, step]: the backward of T slices would write T full-size zero tensors.
        for gates_x, q in zip(input_gates.unbind(1), q_h.unbind(1), strict=True):
            k, v = state_kv(h)
            h, c = self.cell.update(gates_x + ops_h.attend_projected(q, k, v), c)
            steps.append((h, c))
        return steps
