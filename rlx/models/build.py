"""`build_model(cfg, num_classes, in_channels)`: the only reader of ModelConfig."""

from __future__ import annotations

import logging
from typing import get_args

from torch import nn

from rlx.config import Arch, InsertAfter, ModelConfig
from rlx.models.backbones import (
    CONV5_BLOCKS,
    SplitBackbone,
    adapt_stem,
    batch_statistics_norm,
    create_backbone,
    load_backbone_weights,
    make_norm_layer,
)
from rlx.models.relational_lstm import RelationalLSTM
from rlx.models.two_branch import RelationalBranch, TSNNet, TwoBranchNet

log = logging.getLogger(__name__)


def build_model(cfg: ModelConfig, num_classes: int, in_channels: int = 3) -> nn.Module:
    """The network of `cfg.arch`, mapping (B, T, in_channels, H, W) to (B, num_classes) logits.

    Pretrained weights (a local file) are loaded into the RGB backbone first;
    a flow model (in_channels = 2·L) then gets its first conv by
    cross-modality averaging of those RGB filters.
    """
    # Both checked before anything is built (or read from disk).
    local, relational = arch_branches(cfg.arch)
    insert_after = trunk_blocks(cfg.insert_after)
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    backbone = create_backbone(cfg.backbone, make_norm_layer(cfg.bn_mode, cfg.bn_momentum, cfg.batch_bn_momentum))
    if cfg.pretrained:
        log.info("backbone %s: %s", cfg.backbone, load_backbone_weights(backbone, cfg.pretrained))
    adapt_stem(backbone, in_channels)
    channels = backbone.num_features

    if cfg.arch == "tsn":
        return TSNNet(backbone, nn.Linear(channels, num_classes), cfg.dropout)
    branch = build_relational_branch(backbone, cfg, insert_after) if relational else None
    upto = insert_after if relational else CONV5_BLOCKS  # conv5 blocks in the shared trunk
    if not local:
        backbone.truncate(upto)  # the R-LSTM network never runs the pretrained rest of conv5
    width = channels * (int(local) + int(relational))
    return TwoBranchNet(backbone, upto, local, branch, nn.Linear(width, num_classes), cfg.dropout)


def arch_branches(arch: Arch) -> tuple[bool, bool]:
    """(local, relational): the branches an arch has (PAPER.md §3); `tsn` has neither, it is TSNNet."""
    if arch == "two_branch":
        return True, True
    if arch == "local":
        return True, False
    if arch == "nonlocal":
        return False, True
    if arch == "tsn":
        return False, False
    raise ValueError(f"model.arch: unknown arch {arch!r} ({', '.join(get_args(Arch))})")


def trunk_blocks(insert_after: InsertAfter) -> int:
    """The conv5 blocks before the R-LSTM: it reads the output of conv5_k."""
    if insert_after == "conv5_1":
        return 1
    if insert_after == "conv5_2":
        return 2
    if insert_after == "conv5_3":
        return 3
    raise ValueError(f"model.insert_after: {insert_after!r} is not one of {', '.join(get_args(InsertAfter))}")


def build_relational_branch(backbone: SplitBackbone, cfg: ModelConfig, insert_after: int) -> RelationalBranch:
    """BN → R-LSTM (C → C/2) → 1×1 conv (C/2 → C) → new conv5_{k+1} … conv5_3 → head norm.

    The paper's insertion variants (seed paper §4, §5.4): after conv5_k the
    branch continues with its own copies of the conv5 blocks that follow k —
    conv5_1: new conv5_2 and conv5_3; conv5_2 (default): new conv5_3;
    conv5_3: none, H_T goes "right before spatial average pooling" (the drop
    §5.4 explains by the missing block). A head norm finishes the last new
    block (pre-activation blocks end in an un-normalised sum); with no block
    there is nothing to finish and it is an identity.

    The new layers normalise with batch statistics whatever `bn_mode` says
    (`bn_mode` describes how to treat *pretrained* statistics, and these have
    none), their evaluation statistics updated with `batch_bn_momentum`.
    Their convolutions are Xavier-Glorot initialised (PAPER.md §2), the
    R-LSTM's eight operations each with its own fan-in/fan-out.
    """
    channels = backbone.num_features
    hidden = channels // 2
    norm = batch_statistics_norm(cfg.batch_bn_momentum)
    rlstm = RelationalLSTM(
        channels, hidden, pairwise=cfg.pairwise, inter_channels=cfg.inter_channels, scale=cfg.scale_attention
    )
    expand = nn.Conv2d(hidden, channels, kernel_size=1)
    # conv5_1 is the only block that changes width or stride: every block after an insertion point is C→C.
    blocks = nn.Sequential(*[backbone.make_block(norm) for _ in range(CONV5_BLOCKS - insert_after)])
    head_norm = backbone.make_head_norm(norm) if len(blocks) else nn.Identity()
    for module in (expand, *blocks.modules()):
        if isinstance(module, nn.Conv2d):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return RelationalBranch(norm(channels), rlstm, expand, blocks, head_norm)
