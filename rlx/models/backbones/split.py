"""The interface every backbone exposes: the network split at conv5, where the R-LSTM is inserted.

Every backbone (timm's `forward_features` habit, one interface for all depths):
    forward_trunk(x, upto)   stem … conv4, then conv5 blocks [0, upto)
    forward_rest(x, start)   conv5 blocks [start, 3), then the head norm
    truncate(upto)           drop conv5 blocks [upto, 3) and the head norm
    make_block(norm_layer)   a new C→C residual block like conv5_3
    num_features             channels of conv5 (and of every insertion point)
so the R-LSTM is inserted after conv5_1 / conv5_2 / conv5_3 by `upto` = 1/2/3.
"""

from __future__ import annotations

import torch
from torch import nn

from rlx.models.backbones.norm import NormLayer

CONV5_BLOCKS = 3  # conv5_1, conv5_2, conv5_3: every backbone's last stage has exactly these


class SplitBackbone(nn.Module):
    """Shared split logic; subclasses provide the modules."""

    num_features: int
    stem_conv_path: str  # dotted attribute path of the first conv (cross-modality init)

    def forward_to_conv4(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @property
    def conv5(self) -> nn.Sequential:
        raise NotImplementedError

    def head_norm(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def drop_head_norm(self) -> None:
        raise NotImplementedError

    def make_block(self, norm_layer: NormLayer) -> nn.Module:
        raise NotImplementedError

    def make_head_norm(self, norm_layer: NormLayer) -> nn.Module:
        raise NotImplementedError

    def forward_trunk(self, x: torch.Tensor, upto: int) -> torch.Tensor:
        x = self.forward_to_conv4(x)
        for block in self.conv5[:upto]:
            x = block(x)
        return x

    def forward_rest(self, x: torch.Tensor, start: int) -> torch.Tensor:
        for block in self.conv5[start:]:
            x = block(x)
        return self.head_norm(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W) -> conv5_3 features after the head norm (N, num_features, h, w)."""
        return self.forward_rest(self.forward_trunk(x, CONV5_BLOCKS), CONV5_BLOCKS)

    def truncate(self, upto: int) -> None:
        """Delete what follows conv5 block `upto` (the `nonlocal` arch never uses it)."""
        for _ in range(len(self.conv5) - upto):
            del self.conv5[-1]
        self.drop_head_norm()
