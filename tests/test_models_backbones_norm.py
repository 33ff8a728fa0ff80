"""BatchNorm modes (`model.bn_mode`): moving statistics, frozen, plain batch; SyncBatchNorm for batch statistics."""

from typing import get_args

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from rlx.config import BNMode
from rlx.models.backbones.norm import RunningStatsBatchNorm2d, batch_moments, make_norm_layer, sync_batch_statistics


def test_moving_bn_normalises_with_running_stats_and_updates_with_momentum():
    bn = make_norm_layer("moving", 0.001)(4)
    assert isinstance(bn, RunningStatsBatchNorm2d)
    bn.running_mean.fill_(0.5)
    bn.running_var.fill_(2.0)
    bn.train()
    x = torch.randn(8, 4, 5, 5) * 3 + 1
    out = bn(x)
    assert_close(out, (x - 0.5) / torch.sqrt(torch.tensor(2.0 + bn.eps)))  # running stats, not batch stats
    var, mean = torch.var_mean(x, dim=(0, 2, 3), unbiased=True)
    assert_close(bn.running_mean, 0.999 * 0.5 + 0.001 * mean)
    assert_close(bn.running_var, 0.999 * 2.0 + 0.001 * var)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="the fused statistics kernel is CUDA's")
def test_batch_moments_on_cuda_equal_var_mean_of_fp32():
    x = torch.randn(16, 64, 14, 14, device="cuda") * 3 + 1
    x[:, 5] = 0  # a dead channel after ReLU: variance 0, not NaN from 1/invstd²
    x = x.to(torch.bfloat16).to(memory_format=torch.channels_last)  # what the training step normalises
    var, mean = batch_moments(x, 1e-5)
    ref_var, ref_mean = torch.var_mean(x.float(), dim=(0, 2, 3), unbiased=True)
    assert_close(mean, ref_mean, rtol=1e-5, atol=1e-6)
    assert_close(var, ref_var, rtol=1e-4, atol=1e-6)
    assert var[5].item() == 0.0


def test_moving_bn_gradient_is_the_affine_map():
    bn = make_norm_layer("moving", 0.1)(2).train()
    x = torch.randn(4, 2, 3, 3, requires_grad=True)
    bn(x).sum().backward()
    assert_close(x.grad, torch.full_like(x, 1 / (1 + bn.eps) ** 0.5))


def test_frozen_bn_changes_nothing():
    bn = make_norm_layer("frozen", 0.1)(3)
    bn.running_mean.fill_(0.2)
    before = {k: v.clone() for k, v in bn.state_dict().items()}
    bn.train()
    out = bn(torch.randn(4, 3, 2, 2))
    for k, v in bn.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert out.requires_grad  # affine parameters still train


def test_batch_bn_is_ordinary_batchnorm_with_the_batch_momentum_not_the_moving_one():
    bn = make_norm_layer("batch", 0.001, batch_momentum=0.05)(3)
    assert type(bn) is torch.nn.BatchNorm2d and bn.momentum == 0.05
    assert make_norm_layer("batch", 0.001)(3).momentum == 0.1  # never the paper's 0.001 of `moving`


def test_sync_converts_exactly_the_layers_that_use_batch_statistics_and_keeps_their_state():
    batch = make_norm_layer("batch", 0.001, 0.2)
    moving = make_norm_layer("moving", 0.001)
    model = nn.Sequential(batch(3), nn.Sequential(moving(3), batch(3), make_norm_layer("frozen", 0.1)(3)), nn.ReLU())
    with torch.no_grad():
        model[1][1].running_mean.fill_(0.3)
        model[1][1].weight.fill_(2.0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert sync_batch_statistics(model) == 2
    kinds = [type(model[0]), type(model[1][0]), type(model[1][1]), type(model[1][2])]
    assert kinds == [nn.SyncBatchNorm, RunningStatsBatchNorm2d, nn.SyncBatchNorm, RunningStatsBatchNorm2d]
    assert model[1][1].momentum == 0.2 and model[1][0].momentum == 0.001
    after = model.state_dict()
    assert after.keys() == before.keys() and all(torch.equal(after[k], before[k]) for k in before)
    assert sync_batch_statistics(model) == 0  # already synchronised: nothing left to convert


def test_unknown_mode_lists_the_config_values():
    with pytest.raises(ValueError) as err:
        make_norm_layer("sync", 0.1)  # type: ignore[arg-type]
    assert str(err.value) == f"unknown bn_mode 'sync' ({', '.join(get_args(BNMode))})"
