"""BatchNorm modes (`model.bn_mode`): moving statistics, frozen, plain batch."""

from typing import get_args

import pytest
import torch
from torch.testing import assert_close

from rlx.config import BNMode
from rlx.models.backbones.norm import RunningStatsBatchNorm2d, make_norm_layer


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


def test_batch_bn_is_ordinary_batchnorm_with_the_given_momentum():
    bn = make_norm_layer("batch", 0.01)(3)
    assert type(bn) is torch.nn.BatchNorm2d and bn.momentum == 0.01


def test_unknown_mode_lists_the_config_values():
    with pytest.raises(ValueError) as err:
        make_norm_layer("sync", 0.1)  # type: ignore[arg-type]
    assert str(err.value) == f"unknown bn_mode 'sync' ({', '.join(get_args(BNMode))})"
