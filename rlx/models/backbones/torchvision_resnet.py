"""torchvision's post-activation ResNet-50/101 behind the split interface, keys as in torchvision.

An alternative to the paper's pre-activation backbone: torchvision `resnet50`
/ `resnet101` state dicts load as they are (the `fc` classifier is dropped).
Importing this module imports torchvision (~1.4 s in every Ray worker), so
`create_backbone` imports it only when one of these backbones is asked for.
"""

from __future__ import annotations

import torch
import torchvision
from torch import nn
from torchvision.models.resnet import Bottleneck

from rlx.models.backbones.norm import NormLayer
from rlx.models.backbones.split import SplitBackbone


# ---------------------------------------------------------------- model
class TorchvisionResNet(SplitBackbone):
    """torchvision's post-activation ResNet-50/101, keys as in torchvision (fc dropped)."""

    stem_conv_path = "conv1"

    def __init__(self, depth: int, norm_layer: NormLayer = nn.BatchNorm2d) -> None:
        super().__init__()
        if depth not in (50, 101):
            raise ValueError(f"torchvision backbone depth must be 50 or 101 (conv5 needs 3 blocks), got {depth}")
        net = getattr(torchvision.models, f"resnet{depth}")(weights=None, norm_layer=norm_layer)
        self.conv1, self.bn1, self.relu, self.maxpool = net.conv1, net.bn1, net.relu, net.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4
        self.num_features = 512 * Bottleneck.expansion

    def forward_to_conv4(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer3(self.layer2(self.layer1(x)))

    @property
    def conv5(self) -> nn.Sequential:
        return self.layer4

    def head_norm(self, x: torch.Tensor) -> torch.Tensor:
        return x  # post-activation blocks already end in BN-ReLU

    def drop_head_norm(self) -> None:
        pass

    def make_block(self, norm_layer: NormLayer) -> nn.Module:
        c = self.num_features
        return Bottleneck(c, c // 4, norm_layer=norm_layer)

    def make_head_norm(self, norm_layer: NormLayer) -> nn.Module:
        return nn.Identity()


# ---------------------------------------------------------------- entry points
def resnet101(norm_layer: NormLayer = nn.BatchNorm2d) -> TorchvisionResNet:
    return TorchvisionResNet(101, norm_layer)


def resnet50(norm_layer: NormLayer = nn.BatchNorm2d) -> TorchvisionResNet:
    return TorchvisionResNet(50, norm_layer)
