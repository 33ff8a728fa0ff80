"""Image backbones applied to every snippet, all split the same way at conv5.

The paper's backbone is the pre-activation ResNet-v2 with BatchNorm; ours is
written in timm's `resnetv2_*` layout (same module names, so timm state
dicts load as they are), plus a small variant that trains on a CPU in
minutes, and torchvision's post-activation ResNets as an alternative.

- `split`: the interface every backbone exposes (`SplitBackbone`, conv5 split)
- `norm`: the BatchNorm modes (`model.bn_mode`), their momenta, SyncBatchNorm for DDP
- `resnetv2`: pre-activation ResNet-v2, timm layout
- `torchvision_resnet`: torchvision ResNet-50/101 (imports torchvision: not re-exported here)
- `create`: `create_backbone(name)`
- `weights`: local weight loading and the cross-modality (flow) stem
"""

from rlx.models.backbones.create import create_backbone
from rlx.models.backbones.norm import (
    NormLayer,
    RunningStatsBatchNorm2d,
    batch_statistics_norm,
    make_norm_layer,
    sync_batch_statistics,
    uses_batch_statistics,
)
from rlx.models.backbones.resnetv2 import ResNetV2, resnetv2_34, resnetv2_50, resnetv2_101, resnetv2_small
from rlx.models.backbones.split import CONV5_BLOCKS, SplitBackbone
from rlx.models.backbones.weights import LoadReport, WeightLoadError, adapt_stem, load_backbone_weights, read_state_dict

__all__ = [
    "CONV5_BLOCKS",
    "LoadReport",
    "NormLayer",
    "ResNetV2",
    "RunningStatsBatchNorm2d",
    "SplitBackbone",
    "WeightLoadError",
    "adapt_stem",
    "batch_statistics_norm",
    "create_backbone",
    "load_backbone_weights",
    "make_norm_layer",
    "read_state_dict",
    "resnetv2_101",
    "resnetv2_34",
    "resnetv2_50",
    "resnetv2_small",
    "sync_batch_statistics",
    "uses_batch_statistics",
]
