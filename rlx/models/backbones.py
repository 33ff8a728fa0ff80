"""Image backbones applied to every snippet, all split the same way at conv5.

The paper's backbone is the pre-activation ResNet-v2 with BatchNorm; ours is
written in timm's `resnetv2_*` layout (same module names, so timm state
dicts load as they are), plus a small variant that trains on a CPU in
minutes, and torchvision's post-activation ResNets as an alternative.

Every backbone exposes the same interface (timm's `forward_features` habit):
    forward_trunk(x, upto)   stem … conv4, then conv5 blocks [0, upto)
    forward_rest(x, start)   conv5 blocks [start, 3), then the head norm
    truncate(upto)           drop conv5 blocks [upto, 3) and the head norm
    make_block(norm_layer)   a new C→C residual block like conv5_3
    num_features             channels of conv5 (and of every insertion point)
so the R-LSTM is inserted after conv5_1 / conv5_2 / conv5_3 by `upto` = 1/2/3.

Pretrained weights load only from a local file (`load_backbone_weights`),
with `weights_only=True` and a strict key/shape check. Nothing downloads.
"""
from __future__ import annotations

import functools
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

NormLayer = Callable[[int], nn.Module]
CONV5_BLOCKS = 3


# ---------------------------------------------------------------- BatchNorm modes
class RunningStatsBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm that normalises with its running statistics in training too.

    The paper's BN (PAPER.md §6): batches of 24 videos are too small and too
    correlated for batch statistics, so training normalises with the moving
    mean/variance and updates them with a tiny momentum (0.001), letting them
    slowly learn the population statistics. `momentum=0` is frozen BN: the
    statistics never change. The affine weight and bias train in both modes.

    Each training step normalises with the statistics as they were *before*
    the step and then folds the batch in (PyTorch's convention:
    new = (1 - momentum) · old + momentum · batch, unbiased variance), so the
    output is a plain affine map of the input with no gradient through the
    statistics.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Clones: the update below is in place, and autograd keeps the values used here.
        mean, var = self.running_mean.clone(), self.running_var.clone()
        out = F.batch_norm(x, mean, var, self.weight, self.bias, False, 0.0, self.eps)
        if self.training and self.momentum:
            with torch.no_grad():
                batch_var, batch_mean = torch.var_mean(x.float(), dim=(0, 2, 3), unbiased=True)
                self.running_mean.lerp_(batch_mean.to(self.running_mean.dtype), self.momentum)
                self.running_var.lerp_(batch_var.to(self.running_var.dtype), self.momentum)
                self.num_batches_tracked.add_(1)
        return out


def make_norm_layer(mode: str, momentum: float) -> NormLayer:
    """The BatchNorm class for a `model.bn_mode`: batch | moving | frozen."""
    if mode == "batch":
        return functools.partial(nn.BatchNorm2d, momentum=momentum)
    if mode == "moving":
        return functools.partial(RunningStatsBatchNorm2d, momentum=momentum)
    if mode == "frozen":
        return functools.partial(RunningStatsBatchNorm2d, momentum=0.0)
    raise ValueError(f"unknown bn_mode {mode!r} (batch, moving, frozen)")


# ---------------------------------------------------------------- pre-activation blocks (timm layout)
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


class ResNetStage(nn.Module):
    def __init__(self, block: type[nn.Module], in_ch: int, out_ch: int, depth: int, stride: int, norm_layer: NormLayer) -> None:
        super().__init__()
        self.blocks = nn.Sequential(
            *[block(in_ch if i == 0 else out_ch, out_ch, stride if i == 0 else 1, norm_layer) for i in range(depth)]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)


# ---------------------------------------------------------------- the backbone interface
class Backbone(nn.Module):
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
        self._drop_head_norm()

    def _drop_head_norm(self) -> None:
        raise NotImplementedError


class ResNetV2(Backbone):
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
        for i, (depth, out_ch) in enumerate(zip(layers, channels)):
            stages.append(ResNetStage(block, in_ch, out_ch, depth, 1 if i == 0 else 2, norm_layer))
            in_ch = out_ch
        self.stages = nn.ModuleList(stages)
        self.norm: nn.Module | None = norm_layer(in_ch)
        self.num_features = in_ch
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

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

    def _drop_head_norm(self) -> None:
        self.norm = None

    def make_block(self, norm_layer: NormLayer) -> nn.Module:
        return self.block(self.num_features, self.num_features, 1, norm_layer)

    def make_head_norm(self, norm_layer: NormLayer) -> nn.Module:
        return nn.Sequential(norm_layer(self.num_features), nn.ReLU())


class TorchvisionResNet(Backbone):
    """torchvision's post-activation ResNet-50/101, keys as in torchvision (fc dropped)."""

    stem_conv_path = "conv1"

    def __init__(self, depth: int, norm_layer: NormLayer = nn.BatchNorm2d) -> None:
        super().__init__()
        if depth not in (50, 101):
            raise ValueError(f"torchvision backbone depth must be 50 or 101 (conv5 needs 3 blocks), got {depth}")
        import torchvision  # here, not at the top: importing it costs ~1.4 s in every Ray worker

        net = getattr(torchvision.models, f"resnet{depth}")(weights=None, norm_layer=norm_layer)
        self.conv1, self.bn1, self.relu, self.maxpool = net.conv1, net.bn1, net.relu, net.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4
        self.num_features = 512 * torchvision.models.resnet.Bottleneck.expansion

    def forward_to_conv4(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer3(self.layer2(self.layer1(x)))

    @property
    def conv5(self) -> nn.Sequential:
        return self.layer4

    def head_norm(self, x: torch.Tensor) -> torch.Tensor:
        return x  # post-activation blocks already end in BN-ReLU

    def _drop_head_norm(self) -> None:
        pass

    def make_block(self, norm_layer: NormLayer) -> nn.Module:
        c = self.num_features
        import torchvision

        return torchvision.models.resnet.Bottleneck(c, c // 4, norm_layer=norm_layer)

    def make_head_norm(self, norm_layer: NormLayer) -> nn.Module:
        return nn.Identity()


# ---------------------------------------------------------------- builders (entry points)
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


def create_backbone(name: str, norm_layer: NormLayer = nn.BatchNorm2d) -> Backbone:
    if name == "resnetv2_101":
        return resnetv2_101(norm_layer)
    if name == "resnetv2_50":
        return resnetv2_50(norm_layer)
    if name == "resnetv2_34":
        return resnetv2_34(norm_layer)
    if name == "resnetv2_small":
        return resnetv2_small(norm_layer)
    if name == "resnet101":
        return TorchvisionResNet(101, norm_layer)
    if name == "resnet50":
        return TorchvisionResNet(50, norm_layer)
    raise ValueError(
        f"unknown backbone {name!r} (resnetv2_101, resnetv2_50, resnetv2_34, resnetv2_small, resnet101, resnet50)"
    )


# ---------------------------------------------------------------- cross-modality stem
def adapt_stem(backbone: Backbone, in_channels: int) -> None:
    """Replace the first conv by one taking `in_channels`, initialised by TSN's
    cross-modality averaging: the RGB filters averaged over their 3 input
    channels and replicated to every new channel (PAPER.md §4)."""
    parent_path, _, name = backbone.stem_conv_path.rpartition(".")
    parent = backbone.get_submodule(parent_path) if parent_path else backbone
    old: nn.Conv2d = getattr(parent, name)
    if old.in_channels == in_channels:
        return
    new = nn.Conv2d(in_channels, old.out_channels, old.kernel_size, old.stride, old.padding, bias=old.bias is not None)
    with torch.no_grad():
        mean = old.weight.mean(dim=1, keepdim=True)  # (out, 3, k, k) -> (out, 1, k, k)
        new.weight.copy_(mean.expand(-1, in_channels, -1, -1))
        if old.bias is not None:
            new.bias.copy_(old.bias)
    setattr(parent, name, new)


# ---------------------------------------------------------------- local weight loading
CLASSIFIER_PREFIXES = ("head.fc.", "fc.")  # timm / torchvision classifiers: never part of a backbone


class WeightLoadError(ValueError):
    """The weight file does not fit the backbone; the message names the keys."""


@dataclass
class LoadReport:
    path: str
    loaded: int
    ignored: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        ignored = f", ignored {len(self.ignored)} classifier keys ({', '.join(self.ignored)})" if self.ignored else ""
        return f"loaded {self.loaded} tensors from {self.path}{ignored}"


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from a local .pth/.pt/.bin (torch, weights_only) or .safetensors file.

    Accepts the usual wrappers ({'state_dict': …}, {'model': …}) and strips
    the `module.` prefix that DDP adds.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pretrained weights not found: {path} (model.pretrained must be a local file)")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    for wrapper in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict):
        raise WeightLoadError(f"{path}: expected a state dict, found {type(state).__name__}")
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_backbone_weights(backbone: Backbone, path: str | Path) -> LoadReport:
    """Load a timm-format (`resnetv2_*`) or torchvision (`resnet*`) state dict.

    Strict: every backbone tensor must be present with the right shape and no
    unknown key may be left over (only the classifier is ignored). Errors list
    the offending keys so a wrong file or variant is obvious.
    """
    state = read_state_dict(Path(path))
    ignored = sorted(k for k in state if k.startswith(CLASSIFIER_PREFIXES))
    state = {k: v for k, v in state.items() if not k.startswith(CLASSIFIER_PREFIXES)}
    expected = backbone.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong_shape = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in sorted(set(state) & set(expected))
        if state[k].shape != expected[k].shape
    ]
    problems = []
    if wrong_shape:
        problems.append("shape mismatch: " + "; ".join(wrong_shape[:10]))
    if missing:
        problems.append(f"{len(missing)} missing keys: " + ", ".join(missing[:10]))
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys: " + ", ".join(unexpected[:10]))
    if problems:
        raise WeightLoadError(f"{path} does not fit {type(backbone).__name__}: " + " | ".join(problems))
    backbone.load_state_dict(state, strict=True)
    return LoadReport(str(path), len(state), ignored)
