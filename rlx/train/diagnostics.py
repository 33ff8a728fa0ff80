"""Per-epoch model diagnostics for the run's tracker: the R-LSTM's attention statistics.

`AttentionMonitor` keeps a reference to the Relational LSTM's input in the
last `batches` training steps of an epoch (a forward pre-hook: no copy, no
change to the computation that trains), and at the end of the epoch
summarises the attention of the current weights on those inputs
(`rlx.models.attention_stats`): `model/attn_entropy_x`, `model/attn_max_x`
(input-to-state), `model/attn_entropy_h`, `model/attn_max_h`
(state-to-state). A few batches of T steps of an N×N softmax: negligible
next to an epoch. Archs without an R-LSTM (local, tsn) have no monitor; the
`dot_product` pairwise function has no softmax and logs nothing.
"""

from __future__ import annotations

import logging
import math
from collections import deque

import torch
from torch import nn

from rlx.models.attention_stats import attention_statistics
from rlx.models.relational_lstm import RelationalLSTM

log = logging.getLogger(__name__)


class AttentionMonitor:
    def __init__(self, rlstm: RelationalLSTM, batches: int = 2) -> None:
        self.rlstm = rlstm
        self.inputs: deque[torch.Tensor] = deque(maxlen=batches)
        self.handle = rlstm.register_forward_pre_hook(self._keep)
        if rlstm.cell.input_ops.pairwise == "dot_product":
            log.info("attention diagnostics: pairwise 'dot_product' has no softmax weights, none are logged")

    @classmethod
    def attach(cls, model: nn.Module, batches: int = 2) -> AttentionMonitor | None:
        """A monitor on `model`'s R-LSTM (call before any DDP wrapping), or None when it has none."""
        rlstm = next((m for m in model.modules() if isinstance(m, RelationalLSTM)), None)
        return None if rlstm is None else cls(rlstm, batches)

    def _keep(self, module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        if module.training:  # validation and test passes are not what the epoch trained on
            self.inputs.append(args[0].detach())

    def metrics(self) -> dict[str, float]:
        """The epoch's statistics (mean over the kept batches), then forget the inputs; {} when none apply."""
        inputs, stats = list(self.inputs), []
        self.inputs.clear()
        for x in inputs:
            s = attention_statistics(self.rlstm, x)
            if s is not None:
                stats.append(s.as_metrics())
        if not stats:
            return {}
        return {key: math.fsum(s[key] for s in stats) / len(stats) for key in stats[0]}

    def close(self) -> None:
        self.handle.remove()
