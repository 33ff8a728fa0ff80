"""How peaked the Relational LSTM's attention is: entropy and largest weight of its softmax over positions.

Every embedded-Gaussian (or gaussian) operation spreads, for each query
position, a softmax over the N = H·W key positions. Two summaries per kind of
operation, averaged over videos, steps, gates and query positions:

- entropy in nats: log N for uniform weights, 0 when one position takes all;
- the largest weight: 1/N for uniform weights, 1 for one position.

`x` is the input-to-state r(X_t, X_t), `h` the state-to-state r(X_t, H_{t-1})
over steps 2..T: at step 1, H_0 = 0 makes φ(H_0) the same at every position,
so its weights are uniform whatever the parameters — counting them would only
pull the mean towards log N. With T = 1 there are no `h` statistics (NaN).

`dot_product` has no softmax (f = θᵀφ / N is signed and does not sum to 1),
so it has no statistics: `attention_statistics` returns None.
The statistics are recomputed, without gradients, from the inputs the R-LSTM
saw; the forward pass that trains is not touched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from rlx.models.relational_lstm import RelationalLSTM


@dataclass(frozen=True)
class AttentionStats:
    entropy_x: float  # nats, input-to-state
    max_x: float
    entropy_h: float  # nats, state-to-state (steps 2..T)
    max_h: float
    positions: int  # N = H·W: uniform weights have entropy log N and max 1/N

    def as_metrics(self, prefix: str = "model/") -> dict[str, float]:
        """Tracker metrics; the state-to-state pair is left out when there is none (T = 1)."""
        metrics = {
            f"{prefix}attn_entropy_x": self.entropy_x,
            f"{prefix}attn_entropy_h": self.entropy_h,
            f"{prefix}attn_max_x": self.max_x,
            f"{prefix}attn_max_h": self.max_h,
        }
        return {key: value for key, value in metrics.items() if not math.isnan(value)}


def attention_statistics(rlstm: RelationalLSTM, x: torch.Tensor) -> AttentionStats | None:
    """Statistics of `rlstm`'s attention on x (B, T, C, H, W); None for `dot_product` (no softmax)."""
    ops_x, ops_h = rlstm.cell.input_ops, rlstm.cell.state_ops
    if ops_x.pairwise == "dot_product":
        return None
    b, t, _, height, width = x.shape
    n = height * width
    weight = ops_x.g.weight
    with torch.no_grad():
        seq = x.to(weight.device, weight.dtype).flatten(3).transpose(2, 3)  # (B, T, C, H, W) -> (B, T, N, C)
        h = seq.new_zeros(b, n, rlstm.hidden_channels)
        c = torch.zeros_like(h)
        sums = {"entropy_x": 0.0, "max_x": 0.0, "entropy_h": 0.0, "max_h": 0.0}
        for step, x_t in enumerate(seq.unbind(1)):
            _accumulate(sums, "x", ops_x.attention_weights(x_t, x_t))  # (B, S, N, N)
            if step > 0:
                _accumulate(sums, "h", ops_h.attention_weights(x_t, h))
            h, c = rlstm.cell.update(ops_x(x_t, x_t) + ops_h(x_t, h), c)
    state_steps = t - 1
    return AttentionStats(
        entropy_x=sums["entropy_x"] / t,
        max_x=sums["max_x"] / t,
        entropy_h=sums["entropy_h"] / state_steps if state_steps else math.nan,
        max_h=sums["max_h"] / state_steps if state_steps else math.nan,
        positions=n,
    )


def _accumulate(sums: dict[str, float], kind: str, weights: torch.Tensor) -> None:
    """Add one step's means over (B, S, N) queries; weights (B, S, N, N_y) sum to 1 over the last dim."""
    sums[f"entropy_{kind}"] += torch.special.entr(weights).sum(-1).mean().item()  # entr(w) = -w·log w, 0 at w = 0
    sums[f"max_{kind}"] += weights.amax(-1).mean().item()
