"""create_backbone: every `model.backbone` value of the config builds, nothing else does."""

from typing import get_args

import pytest
import torch

from rlx.config import Backbone
from rlx.models.backbones import CONV5_BLOCKS, SplitBackbone, create_backbone


@pytest.mark.parametrize("name", get_args(Backbone))
def test_every_config_backbone_builds_with_the_split_interface(name):
    with torch.device("meta"):  # the full-size ones too, without allocating (or initialising) a tensor
        b = create_backbone(name)
        features = b(torch.empty(1, 3, 64, 64))
    assert isinstance(b, SplitBackbone) and len(b.conv5) == CONV5_BLOCKS
    assert features.shape == (1, b.num_features, 2, 2)
    assert b.num_features == (256 if name == "resnetv2_small" else 512 if name == "resnetv2_34" else 2048)


def test_unknown_backbone_is_rejected_listing_the_config_values():
    with pytest.raises(ValueError) as err:
        create_backbone("resnet18")  # type: ignore[arg-type]
    assert str(err.value) == f"unknown backbone 'resnet18' ({', '.join(get_args(Backbone))})"
