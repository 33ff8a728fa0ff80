"""`create_backbone(name)`: the one dispatch from a `model.backbone` name to its entry point."""

from __future__ import annotations

import types
from typing import get_args

from torch import nn

from rlx.config import Backbone
from rlx.models.backbones.norm import NormLayer
from rlx.models.backbones.resnetv2 import resnetv2_34, resnetv2_50, resnetv2_101, resnetv2_small
from rlx.models.backbones.split import SplitBackbone


def create_backbone(name: Backbone, norm_layer: NormLayer = nn.BatchNorm2d) -> SplitBackbone:
    """The backbone `model.backbone` names (random init), every norm built by `norm_layer`."""
    if name == "resnetv2_101":
        return resnetv2_101(norm_layer)
    if name == "resnetv2_50":
        return resnetv2_50(norm_layer)
    if name == "resnetv2_34":
        return resnetv2_34(norm_layer)
    if name == "resnetv2_small":
        return resnetv2_small(norm_layer)
    if name == "resnet101":
        return torchvision_resnets().resnet101(norm_layer)
    if name == "resnet50":
        return torchvision_resnets().resnet50(norm_layer)
    raise ValueError(f"unknown backbone {name!r} ({', '.join(get_args(Backbone))})")


def torchvision_resnets() -> types.ModuleType:
    """`rlx.models.backbones.torchvision_resnet`, imported only when a torchvision backbone is built."""
    # ~1.4 s of torchvision import in every Ray worker, which the default (resnetv2) backbones never need.
    from rlx.models.backbones import torchvision_resnet  # noqa: PLC0415

    return torchvision_resnet
