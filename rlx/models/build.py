"""`build_model(cfg, num_classes, in_channels)`: the only reader of ModelConfig."""
from __future__ import annotations

import logging

from torch import nn

from rlx.config import ModelConfig
from rlx.models.backbones import (
    CONV5_BLOCKS,
    Backbone,
    adapt_stem,
    create_backbone,
    load_backbone_weights,
    make_norm_layer,
)
from rlx.models.relational_lstm import RelationalLSTM
from rlx.models.two_branch import RelationalBranch, TSNNet, TwoBranchNet

log = logging.getLogger(__name__)

INSERT_AFTER = {"conv5_1": 1, "conv5_2": 2, "conv5_3": 3}
ARCHS = ("two_branch", "local", "nonlocal", "tsn")


def build_model(cfg: ModelConfig, num_classes: int, in_channels: int = 3) -> nn.Module:
    """The network of `cfg.arch`, mapping (B, T, in_channels, H, W) to (B, num_classes) logits.

    Pretrained weights (a local file) are loaded into the RGB backbone first;
    a flow model (in_channels = 2·L) then gets its first conv by
    cross-modality averaging of those RGB filters.
    """
    if cfg.arch not in ARCHS:
        raise ValueError(f"model.arch: unknown arch {cfg.arch!r} ({', '.join(ARCHS)})")
    if cfg.insert_after not in INSERT_AFTER:
        raise ValueError(f"model.insert_after: {cfg.insert_after!r} is not one of {', '.join(INSERT_AFTER)}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    backbone = create_backbone(cfg.backbone, make_norm_layer(cfg.bn_mode, cfg.bn_momentum))
    if cfg.pretrained:
        log.info("backbone %s: %s", cfg.backbone, load_backbone_weights(backbone, cfg.pretrained))
    adapt_stem(backbone, in_channels)
    channels = backbone.num_features

    if cfg.arch == "tsn":
        return TSNNet(backbone, nn.Linear(channels, num_classes), cfg.dropout)
    local = cfg.arch in ("two_branch", "local")
    relational = build_relational_branch(backbone, cfg) if cfg.arch in ("two_branch", "nonlocal") else None
    upto = INSERT_AFTER[cfg.insert_after] if relational is not None else CONV5_BLOCKS
    if not local:
        backbone.truncate(upto)  # the R-LSTM network never runs the pretrained rest of conv5
    width = channels * (int(local) + int(relational is not None))
    return TwoBranchNet(backbone, upto, local, relational, nn.Linear(width, num_classes), cfg.dropout)


def build_relational_branch(backbone: Backbone, cfg: ModelConfig) -> RelationalBranch:
    """BN → R-LSTM (C → C/2) → 1×1 conv (C/2 → C) → new conv5_3-like block → head norm.

    The new layers normalise with batch statistics whatever `bn_mode` says:
    `bn_mode` describes how to treat *pretrained* statistics, and these have
    none yet. Their weights are Xavier-Glorot initialised (PAPER.md §2).
    """
    channels = backbone.num_features
    hidden = channels // 2
    rlstm = RelationalLSTM(
        channels, hidden, pairwise=cfg.pairwise, inter_channels=cfg.inter_channels, scale=cfg.scale_attention
    )
    expand = nn.Conv2d(hidden, channels, kernel_size=1)
    block = backbone.make_block(nn.BatchNorm2d)
    for module in (expand, *block.modules()):
        if isinstance(module, nn.Conv2d):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return RelationalBranch(nn.BatchNorm2d(channels), rlstm, expand, block, backbone.make_head_norm(nn.BatchNorm2d))
