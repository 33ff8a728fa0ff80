"""The conv5 split every backbone exposes: trunk + rest = whole network, truncation."""

import pytest
import torch
from torch.testing import assert_close

from rlx.models.backbones import CONV5_BLOCKS, create_backbone


def randomise_bn(model):
    """Non-trivial BN statistics, so an unloaded or misplaced tensor shows in the outputs."""
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return model


@pytest.mark.parametrize("name", ["resnetv2_small", "resnet50"])
def test_trunk_plus_rest_is_the_whole_backbone_at_every_split(name):
    torch.manual_seed(0)
    b = randomise_bn(create_backbone(name)).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        full = b(x)
        for upto in range(1, CONV5_BLOCKS + 1):
            feats = b.forward_trunk(x, upto)
            assert feats.shape[1] == b.num_features
            assert_close(b.forward_rest(feats, upto), full)


def test_truncate_drops_the_unused_conv5_blocks():
    b = create_backbone("resnetv2_small")
    b.truncate(1)
    assert len(b.conv5) == 1 and b.norm is None
    assert not any(k.startswith(("stages.3.blocks.1", "norm.")) for k in b.state_dict())
