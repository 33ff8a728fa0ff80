"""Backbone weights: strict loading from a local file, and the cross-modality stem for flow input.

Pretrained weights load only from a local file (`load_backbone_weights`),
with `weights_only=True` and a strict key/shape check. Nothing downloads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from rlx.models.backbones.split import SplitBackbone

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


# ---------------------------------------------------------------- local weight loading
def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from a local .pth/.pt/.bin (torch, weights_only) or .safetensors file.

    Accepts the usual wrappers ({'state_dict': …}, {'model': …}) and strips
    the `module.` prefix that DDP adds.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pretrained weights not found: {path} (model.pretrained must be a local file)")
    if path.suffix == ".safetensors":
        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    for wrapper in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict):
        raise WeightLoadError(f"{path}: expected a state dict, found {type(state).__name__}")
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_backbone_weights(backbone: SplitBackbone, path: str | Path) -> LoadReport:
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


# ---------------------------------------------------------------- cross-modality stem
def adapt_stem(backbone: SplitBackbone, in_channels: int) -> None:
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
