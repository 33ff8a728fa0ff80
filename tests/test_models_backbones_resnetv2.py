"""Pre-activation ResNet-v2: timm's layout, so timm state dicts load and reproduce timm's features."""

import pytest
import timm
import torch
from torch.testing import assert_close

from rlx.models.backbones.resnetv2 import ResNetV2, resnetv2_34, resnetv2_50, resnetv2_small
from rlx.models.backbones.weights import load_backbone_weights


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


@pytest.mark.parametrize("name,entry_point", [("resnetv2_50", resnetv2_50), ("resnetv2_34", resnetv2_34)])
def test_timm_resnetv2_state_dict_loads_and_reproduces_features(name, entry_point, tmp_path):
    torch.manual_seed(0)
    ref = randomise_bn(timm.create_model(name, pretrained=False)).eval()
    path = tmp_path / f"{name}.pth"
    torch.save(ref.state_dict(), path)
    ours = entry_point().eval()
    report = load_backbone_weights(ours, path)
    assert report.ignored == ["head.fc.bias", "head.fc.weight"]
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert_close(ours(x), ref.forward_features(x), rtol=1e-4, atol=1e-4)


def test_small_variant_has_the_same_split_at_a_quarter_width():
    b = resnetv2_small()
    assert b.num_features == 256 and len(b.conv5) == 3
    assert b(torch.randn(1, 3, 64, 64)).shape == (1, 256, 2, 2)  # stride 32
    assert b.make_block(torch.nn.BatchNorm2d)(torch.randn(1, 256, 2, 2)).shape == (1, 256, 2, 2)


def test_conv5_must_have_three_blocks():
    with pytest.raises(ValueError, match="conv5 must have 3 blocks to split at conv5_1/2/3, got 2"):
        ResNetV2((1, 1, 1, 2), (8, 8, 8, 8), type(resnetv2_small().conv5[0]))
