"""Video-level networks over T snippets (PAPER.md §3, Fig. 2).

Modules here only wire submodules that `rlx.models.build` has built:
- `TwoBranchNet`: a shared trunk (conv1 … conv5_k) feeding
  the local branch   (rest of conv5 → spatial avg → temporal avg) and/or
  the relational branch (BN → R-LSTM → 1×1 conv C/2→C → new copies of the
  conv5 blocks after the insertion point → spatial avg of the last hidden
  state; after conv5_3 no block follows, PAPER.md §3 and seed paper §5.4);
  the video vectors are concatenated → dropout → FC. With one branch absent
  it is the paper's "local only" or "non-local only" (R-LSTM network).
- `TSNNet`: the TSN baseline — per-snippet FC, scores averaged after the FC.

All map (B, T, C_in, H, W) to (B, num_classes) logits.
"""

from __future__ import annotations

import torch
from torch import nn

from rlx.models.backbones import SplitBackbone
from rlx.models.relational_lstm import RelationalLSTM


class RelationalBranch(nn.Module):
    """(B, T, C, h, w) conv5_k maps -> (B, C) video vector from H_T.

    `blocks` are the branch's own copies of conv5_{k+1} … conv5_3 (empty when
    the R-LSTM reads conv5_3), `head_norm` finishes the last of them (an
    identity when there is none: nothing to finish).
    """

    def __init__(
        self,
        norm: nn.Module,
        rlstm: RelationalLSTM,
        expand: nn.Conv2d,
        blocks: nn.Sequential,
        head_norm: nn.Module,
    ) -> None:
        super().__init__()
        self.norm = norm
        self.rlstm = rlstm
        self.expand = expand
        self.blocks = blocks
        self.head_norm = head_norm

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        b, t, c, h, w = feats.shape
        x = self.norm(feats.flatten(0, 1)).view(b, t, c, h, w)  # BN per snippet map: (B·T, C, h, w)
        _, (h_last, _) = self.rlstm(x)  # H_T: (B, C/2, h, w)
        x = self.head_norm(self.blocks(self.expand(h_last)))  # (B, C, h, w)
        return x.mean(dim=(2, 3))  # spatial average -> (B, C)


class TwoBranchNet(nn.Module):
    def __init__(
        self,
        backbone: SplitBackbone,
        insert_after: int,
        local: bool,
        relational: RelationalBranch | None,
        classifier: nn.Linear,
        dropout: float,
    ) -> None:
        super().__init__()
        if not local and relational is None:
            raise ValueError("TwoBranchNet needs at least one branch")
        self.backbone = backbone
        self.insert_after = insert_after  # number of conv5 blocks in the shared trunk
        self.local = local
        self.relational = relational
        self.dropout = nn.Dropout(dropout)
        self.fc = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[:2]
        feats = self.backbone.forward_trunk(x.flatten(0, 1), self.insert_after)  # (B·T, C_in, H, W) -> (B·T, C, h, w)
        vectors = []
        if self.local:
            local = self.backbone.forward_rest(feats, self.insert_after).mean(dim=(2, 3))  # (B·T, C)
            vectors.append(local.view(b, t, -1).mean(dim=1))  # temporal average -> (B, C)
        if self.relational is not None:
            vectors.append(self.relational(feats.view(b, t, *feats.shape[1:])))  # (B, C)
        return self.fc(self.dropout(torch.cat(vectors, dim=1)))


class TSNNet(nn.Module):
    """TSN: every snippet classified on its own, scores averaged (segmental consensus)."""

    def __init__(self, backbone: SplitBackbone, classifier: nn.Linear, dropout: float) -> None:
        super().__init__()
        self.backbone = backbone
        self.dropout = nn.Dropout(dropout)
        self.fc = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[:2]
        feats = self.backbone(x.flatten(0, 1)).mean(dim=(2, 3))  # (B·T, C)
        scores = self.fc(self.dropout(feats))  # (B·T, K)
        return scores.view(b, t, -1).mean(dim=1)  # average after the FC -> (B, K)
