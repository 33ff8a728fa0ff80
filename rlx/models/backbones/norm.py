"""BatchNorm: the `model.bn_mode` choices (batch, frozen, moving) as norm-layer callables, and SyncBatchNorm.

Two kinds of layer, each with its own momentum key (ModelConfig):
- layers that normalise with their *running* statistics in training too
  (`moving`, the paper's; `frozen`): `model.bn_momentum` (0.001) updates them;
- layers that normalise with *batch* statistics (`batch` mode's backbone, and
  in every mode the new layers of the non-local branch, which have no
  pretrained statistics): their running statistics serve evaluation only and
  follow `model.batch_bn_momentum` (0.1). Under DDP these are the layers
  `sync_batch_statistics` turns into SyncBatchNorm (`train.sync_bn`).
"""

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
                batch_var, batch_mean = batch_moments(x, self.eps)
                self.running_mean.lerp_(batch_mean.to(self.running_mean.dtype), self.momentum)
                self.running_var.lerp_(batch_var.to(self.running_var.dtype), self.momentum)
                self.num_batches_tracked.add_(1)
        return out


def batch_moments(x: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel unbiased variance and mean of (N, C, H, W), in fp32, any dtype and memory format.

    On CUDA one fused pass (`torch.batch_norm_stats`, SyncBatchNorm's kernel; fp32 accumulation): the generic
    `var_mean(x.float())` of a bf16 channels_last map cast a copy and ran a strided reduction, ~35 % of the
    paper-size network's GPU step on an H200 (`python -m rlx.bench gpu` profile, README). It returns
    1/sqrt(var + eps), inverted here. CPU has no such kernel.
    """
    if x.is_cuda:
        mean, invstd = torch.batch_norm_stats(x, eps)
        count = x.numel() // x.shape[1]
        var = (invstd.pow(-2) - eps).clamp_min(0) * (count / max(count - 1, 1))  # biased -> unbiased
        return var, mean
    return torch.var_mean(x.float(), dim=(0, 2, 3), unbiased=True)


def make_norm_layer(mode: BNMode, momentum: float, batch_momentum: float = 0.1) -> NormLayer:
    """The BatchNorm class for a `model.bn_mode`: `momentum` for running-statistics modes, `batch_momentum` else."""
    if mode == "batch":
        return batch_statistics_norm(batch_momentum)
    if mode == "moving":
        return functools.partial(RunningStatsBatchNorm2d, momentum=momentum)
    if mode == "frozen":
        return functools.partial(RunningStatsBatchNorm2d, momentum=0.0)
    raise ValueError(f"unknown bn_mode {mode!r} ({', '.join(get_args(BNMode))})")


def batch_statistics_norm(momentum: float) -> NormLayer:
    """Ordinary BatchNorm (batch statistics in training), its evaluation statistics updated with `momentum`."""
    return functools.partial(nn.BatchNorm2d, momentum=momentum)


def uses_batch_statistics(module: nn.Module) -> bool:
    """True for a BatchNorm that normalises with the batch's statistics in training."""
    return isinstance(module, nn.BatchNorm2d) and not isinstance(module, RunningStatsBatchNorm2d)


def sync_batch_statistics(model: nn.Module) -> int:
    """Replace, in place, every layer that uses batch statistics by a SyncBatchNorm; returns how many.

    Not `nn.SyncBatchNorm.convert_sync_batchnorm(model)`: that converts every
    BatchNorm subclass, and would turn the `moving`/`frozen` layers (which must
    not use batch statistics at all) into ordinary synchronised BN. Parameters
    and buffers are carried over, and the state-dict keys stay the same, so a
    checkpoint loads into either form.
    """
    count = 0
    for name, child in model.named_children():
        if uses_batch_statistics(child):
            setattr(model, name, nn.SyncBatchNorm.convert_sync_batchnorm(child))
            count += 1
        else:
            count += sync_batch_statistics(child)
    return count
