"""Pre-activation ResNet-v2 with BatchNorm (the paper's backbone), in timm's `resnetv2_*` layout.

Module names follow timm (stem.conv/pool, stages.i.blocks.j.{norm1,conv1,...},
downsample.conv, norm), so timm `resnetv2_50/101` state dicts load as they
are. `resnetv2_small` is a quarter-width variant that trains on a CPU in
minutes. The file reads in timm's order: blocks → stages → model → init →
entry points.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from rlx.models.backbones.norm import NormLayer
from rlx.models.backbones.split import CONV5_BLOCKS, SplitBackbone


# ---------------------------------------------------------------- blocks
def conv3x3(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False)


class DownsampleConv(nn.Module):
    """Projection shortcut applied to the pre-activated input (timm's `downsample.conv`)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__()
        self.conv = conv1x1(in_ch, out_ch, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class PreActBasic(nn.Module):
    """BN-ReLU-conv3x3-BN-ReLU-conv3x3 + shortcut (He et al. 2016, identity mappings)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, norm_layer: NormLayer) -> None:
        super().__init__()
        needs_proj = stride != 1 or in_ch != out_ch
        self.downsample = DownsampleConv(in_ch, out_ch, stride) if needs_proj else None
        self.norm1 = norm_layer(in_ch)
        self.conv1 = conv3x3(in_ch, out_ch, stride)
        self.norm2 = norm_layer(out_ch)
        self.conv2 = conv3x3(out_ch, out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_preact = F.relu(self.norm1(x))
        shortcut = x if self.downsample is None else self.downsample(x_preact)
        x = self.conv1(x_preact)
        x = self.conv2(F.relu(self.norm2(x)))
        return x + shortcut


class PreActBottleneck(nn.Module):
    """BN-ReLU-conv1x1-BN-ReLU-conv3x3(stride)-BN-ReLU-conv1x1 + shortcut, width out/4."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, norm_layer: NormLayer) -> None:
        super().__init__()
        mid = out_ch // 4
        needs_proj = stride != 1 or in_ch != out_ch
        self.downsample = DownsampleConv(in_ch, out_ch, stride) if needs_proj else None
        self.norm1 = norm_layer(in_ch)
        self.conv1 = conv1x1(in_ch, mid)
        self.norm2 = norm_layer(mid)
        self.conv2 = conv3x3(mid, mid, stride)
        self.norm3 = norm_layer(mid)
        self.conv3 = conv1x1(mid, out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_preact = F.relu(self.norm1(x))
        shortcut = x if self.downsample is None else self.downsample(x_preact)
        x = self.conv1(x_preact)
        x = self.conv2(F.relu(self.norm2(x)))
        x = self.conv3(F.relu(self.norm3(x)))
        return x + shortcut


# ---------------------------------------------------------------- stages
class ResNetStage(nn.Module):
    def __init__(
        self, block: type[nn.Module], in_ch: int, out_ch: int, depth: int, stride: int, norm_layer: NormLayer
    ) -> None:
        super().__init__()
        self.blocks = nn.Sequential(
            *[block(in_ch if i == 0 else out_ch, out_ch, stride if i == 0 else 1, norm_layer) for i in range(depth)]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)


# ---------------------------------------------------------------- model
class ResNetV2(SplitBackbone):
    """Pre-activation ResNet in timm's layout: stem.conv/pool, stages.i.blocks.j, norm."""

    stem_conv_path = "stem.conv"

    def __init__(
        self,
        layers: tuple[int, int, int, int],
        channels: tuple[int, int, int, int],
        block: type[nn.Module],
        stem_width: int = 64,
        norm_layer: NormLayer = nn.BatchNorm2d,
    ) -> None:
        super().__init__()
        if layers[3] != CONV5_BLOCKS:
            raise ValueError(f"conv5 must have {CONV5_BLOCKS} blocks to split at conv5_1/2/3, got {layers[3]}")
        self.block = block
        self.stem = nn.Sequential(
            OrderedDict(
                conv=nn.Conv2d(3, stem_width, 7, stride=2, padding=3, bias=False),
                pool=nn.MaxPool2d(3, stride=2, padding=1),
            )
        )
        stages, in_ch = [], stem_width
        for i, (depth, out_ch) in enumerate(zip(layers, channels, strict=True)):
            stages.append(ResNetStage(block, in_ch, out_ch, depth, 1 if i == 0 else 2, norm_layer))
            in_ch = out_ch
        self.stages = nn.ModuleList(stages)
        self.norm: nn.Module | None = norm_layer(in_ch)
        self.num_features = in_ch
        init_weights(self)

    def forward_to_conv4(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for stage in self.stages[:3]:
            x = stage(x)
        return x

    @property
    def conv5(self) -> nn.Sequential:
        return self.stages[3].blocks

    def head_norm(self, x: torch.Tensor) -> torch.Tensor:
        # Pre-activation blocks output an un-normalised sum; the head BN-ReLU finishes conv5.
        return F.relu(self.norm(x))

    def drop_head_norm(self) -> None:
        self.norm = None

    def make_block(self, norm_layer: NormLayer) -> nn.Module:
        return self.block(self.num_features, self.num_features, 1, norm_layer)

    def make_head_norm(self, norm_layer: NormLayer) -> nn.Module:
        return nn.Sequential(norm_layer(self.num_features), nn.ReLU())


# ---------------------------------------------------------------- init
def init_weights(model: nn.Module) -> None:
    """He (fan-out) init of every conv; norms keep PyTorch's (weight 1, bias 0)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


# ---------------------------------------------------------------- entry points
def resnetv2_101(norm_layer: NormLayer = nn.BatchNorm2d) -> ResNetV2:
    """The paper's backbone; loads timm `resnetv2_101` state dicts."""
    return ResNetV2((3, 4, 23, 3), (256, 512, 1024, 2048), PreActBottleneck, 64, norm_layer)


def resnetv2_50(norm_layer: NormLayer = nn.BatchNorm2d) -> ResNetV2:
    return ResNetV2((3, 4, 6, 3), (256, 512, 1024, 2048), PreActBottleneck, 64, norm_layer)


def resnetv2_34(norm_layer: NormLayer = nn.BatchNorm2d) -> ResNetV2:
    return ResNetV2((3, 4, 6, 3), (64, 128, 256, 512), PreActBasic, 64, norm_layer)


def resnetv2_small(norm_layer: NormLayer = nn.BatchNorm2d) -> ResNetV2:
    """Quarter-width pre-activation basic ResNet, one block per early stage: CPU-sized.

    Same structure and split as the big ones (conv5 has 3 blocks); 256
    features at conv5. For the embedded default and tests only; no weights.
    """
    return ResNetV2((1, 1, 1, 3), (32, 64, 128, 256), PreActBasic, 32, norm_layer)
