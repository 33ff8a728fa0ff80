"""Backbones: timm/torchvision weight compatibility, the conv5 split, BN modes, flow stem."""
import pytest
import timm
import torch
import torchvision
from torch.testing import assert_close

from rlx.models.backbones import (
    RunningStatsBatchNorm2d,
    WeightLoadError,
    adapt_stem,
    create_backbone,
    load_backbone_weights,
    make_norm_layer,
)


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


@pytest.mark.parametrize("name", ["resnetv2_50", "resnetv2_34"])
def test_timm_resnetv2_state_dict_loads_and_reproduces_features(name, tmp_path):
    torch.manual_seed(0)
    ref = randomise_bn(timm.create_model(name, pretrained=False)).eval()
    path = tmp_path / f"{name}.pth"
    torch.save(ref.state_dict(), path)
    ours = create_backbone(name).eval()
    report = load_backbone_weights(ours, path)
    assert report.ignored == ["head.fc.bias", "head.fc.weight"]
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert_close(ours(x), ref.forward_features(x), rtol=1e-4, atol=1e-4)


def test_torchvision_resnet_state_dict_loads_and_reproduces_features(tmp_path):
    torch.manual_seed(0)
    ref = randomise_bn(torchvision.models.resnet50(weights=None)).eval()
    path = tmp_path / "resnet50.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in ref.state_dict().items()}}, path)  # DDP-style wrapper
    ours = create_backbone("resnet50").eval()
    load_backbone_weights(ours, path)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = torch.nn.Sequential(*list(ref.children())[:-2])(x)
        assert_close(ours(x), expected, rtol=1e-4, atol=1e-4)


def test_wrong_shape_names_the_key(tmp_path):
    state = create_backbone("resnetv2_small").state_dict()
    state["stages.3.blocks.1.conv1.weight"] = torch.zeros(1, 2, 3, 3)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(WeightLoadError, match=r"stages\.3\.blocks\.1\.conv1\.weight: file \(1, 2, 3, 3\) vs model \(256, 256, 3, 3\)"):
        load_backbone_weights(create_backbone("resnetv2_small"), tmp_path / "bad.pth")


def test_missing_and_unexpected_keys_are_listed(tmp_path):
    state = create_backbone("resnetv2_small").state_dict()
    del state["norm.weight"]
    state["extra.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(WeightLoadError, match=r"1 missing keys: norm\.weight \| 1 unexpected keys: extra\.weight"):
        load_backbone_weights(create_backbone("resnetv2_small"), tmp_path / "bad.pth")


def test_weights_are_read_without_unpickling_code(tmp_path):
    torch.save({"state_dict": {}, "hook": torch.nn.ReLU()}, tmp_path / "pickled.pth")  # arbitrary object
    with pytest.raises(Exception, match="Weights only load failed"):
        load_backbone_weights(create_backbone("resnetv2_small"), tmp_path / "pickled.pth")


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="pretrained weights not found: .*nope.pth"):
        load_backbone_weights(create_backbone("resnetv2_small"), tmp_path / "nope.pth")


@pytest.mark.parametrize("name", ["resnetv2_small", "resnet50"])
def test_trunk_plus_rest_is_the_whole_backbone_at_every_split(name):
    torch.manual_seed(0)
    b = randomise_bn(create_backbone(name)).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        full = b(x)
        for upto in (1, 2, 3):
            feats = b.forward_trunk(x, upto)
            assert feats.shape[1] == b.num_features
            assert_close(b.forward_rest(feats, upto), full)


def test_truncate_drops_the_unused_conv5_blocks():
    b = create_backbone("resnetv2_small")
    b.truncate(1)
    assert len(b.conv5) == 1 and b.norm is None
    assert not any(k.startswith(("stages.3.blocks.1", "norm.")) for k in b.state_dict())


def test_cross_modality_init_averages_rgb_filters():
    b = create_backbone("resnetv2_small")
    rgb = b.stem.conv.weight.detach().clone()
    adapt_stem(b, 20)
    w = b.stem.conv.weight
    assert w.shape == (rgb.shape[0], 20, 7, 7)
    for ch in (0, 7, 19):
        assert_close(w[:, ch], rgb.mean(dim=1))
    assert b(torch.randn(1, 20, 64, 64)).shape[1] == b.num_features


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


def test_unknown_backbone_is_rejected_by_name():
    with pytest.raises(ValueError, match="unknown backbone 'resnet18'"):
        create_backbone("resnet18")
