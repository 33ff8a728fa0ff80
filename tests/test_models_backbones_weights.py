"""Local weight loading (strict keys and shapes, no code unpickled) and the cross-modality stem."""

import pytest
import torch
from safetensors.torch import save_file
from torch.testing import assert_close

from rlx.models.backbones import create_backbone
from rlx.models.backbones.weights import WeightLoadError, adapt_stem, load_backbone_weights


def test_wrong_shape_names_the_key(tmp_path):
    state = create_backbone("resnetv2_small").state_dict()
    state["stages.3.blocks.1.conv1.weight"] = torch.zeros(1, 2, 3, 3)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(
        WeightLoadError, match=r"stages\.3\.blocks\.1\.conv1\.weight: file \(1, 2, 3, 3\) vs model \(256, 256, 3, 3\)"
    ):
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


def test_safetensors_file_loads_every_tensor(tmp_path):
    torch.manual_seed(0)
    source = create_backbone("resnetv2_small")
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(tmp_path / "w.safetensors"))
    target = create_backbone("resnetv2_small")
    report = load_backbone_weights(target, tmp_path / "w.safetensors")
    assert report.loaded == len(source.state_dict()) and report.ignored == []
    assert torch.equal(target.stem.conv.weight, source.stem.conv.weight)


def test_cross_modality_init_averages_rgb_filters():
    b = create_backbone("resnetv2_small")
    rgb = b.stem.conv.weight.detach().clone()
    adapt_stem(b, 20)
    w = b.stem.conv.weight
    assert w.shape == (rgb.shape[0], 20, 7, 7)
    for ch in (0, 7, 19):
        assert_close(w[:, ch], rgb.mean(dim=1))
    assert b(torch.randn(1, 20, 64, 64)).shape[1] == b.num_features


def test_rgb_input_keeps_the_stem_conv():
    b = create_backbone("resnetv2_small")
    conv = b.stem.conv
    adapt_stem(b, 3)
    assert b.stem.conv is conv
