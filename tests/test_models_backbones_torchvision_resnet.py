"""torchvision ResNets behind the split interface: torchvision state dicts load and reproduce its features."""

import pytest
import torch
import torchvision
from torch.testing import assert_close

from rlx.models.backbones.torchvision_resnet import TorchvisionResNet, resnet50
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


def test_torchvision_resnet_state_dict_loads_and_reproduces_features(tmp_path):
    torch.manual_seed(0)
    ref = randomise_bn(torchvision.models.resnet50(weights=None)).eval()
    path = tmp_path / "resnet50.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in ref.state_dict().items()}}, path)  # DDP-style wrapper
    ours = resnet50().eval()
    report = load_backbone_weights(ours, path)
    assert report.ignored == ["fc.bias", "fc.weight"]
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = torch.nn.Sequential(*list(ref.children())[:-2])(x)
        assert_close(ours(x), expected, rtol=1e-4, atol=1e-4)


def test_only_depths_with_a_three_block_conv5():
    with pytest.raises(ValueError, match="depth must be 50 or 101 .*got 18"):
        TorchvisionResNet(18)
