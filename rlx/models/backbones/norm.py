"""BatchNorm for backbones: the `model.bn_mode` choices (batch, frozen, moving) as norm-layer callables."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import get_args

import torch
import torch.nn.functional as F
from torch import nn

from rlx.config import BNMode

NormLayer = Callable[[int], nn.Module]  # channels -> a norm module (timm's `norm_layer` argument)


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


def make_norm_layer(mode: BNMode, momentum: float) -> NormLayer:
    """The BatchNorm class for a `model.bn_mode`."""
    if mode == "batch":
        return functools.partial(nn.BatchNorm2d, momentum=momentum)
    if mode == "moving":
        return functools.partial(RunningStatsBatchNorm2d, momentum=momentum)
    if mode == "frozen":
        return functools.partial(RunningStatsBatchNorm2d, momentum=0.0)
    raise ValueError(f"unknown bn_mode {mode!r} ({', '.join(get_args(BNMode))})")
