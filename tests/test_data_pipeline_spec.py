"""rlx.data.pipeline.spec: PipelineSpec from the run config, derived shapes, and rejected values."""

from __future__ import annotations

import pytest

from rlx.config import DataConfig, EvalConfig
from rlx.data.pipeline.spec import PipelineSpec


def test_spec_from_run_config():
    flow = PipelineSpec.from_config(
        DataConfig(modality="flow", new_length=10, num_segments=6, input_size=224, short_side=240, loader_tasks=3),
        "train",
        "/v",
    )
    got = (flow.modality, flow.new_length, flow.num_segments, flow.short_side, flow.num_tasks)
    assert got == ("flow", 10, 6, 240, 3)
    assert flow.channels == 20 and flow.frame_shape() == (6, 20, 224, 224)
    ucf = PipelineSpec.from_config(DataConfig(), "test", "/v", evaluation=EvalConfig())
    assert ucf.num_views == 20 and ucf.num_clips == 0
    charades = PipelineSpec.from_config(
        DataConfig(dataset="charades"), "test", "/v", num_classes=157, evaluation=EvalConfig()
    )
    # The paper: each of the 10 clips evaluated "in the same way as Section 5.2" (4 groups x 5 crops).
    assert charades.multilabel and charades.num_classes == 157 and charades.num_views == 10 * 4 * 5
    assert (charades.num_clips, charades.num_groups, charades.num_crops, charades.clip_len) == (10, 4, 5, 256)
    small = EvalConfig(num_groups=2, num_crops=1, num_clips=3, clip_length=32)
    charades = PipelineSpec.from_config(DataConfig(dataset="charades"), "test", "/v", num_classes=4, evaluation=small)
    assert charades.num_views == 3 * 2 * 1 and charades.frame_shape() == (6, 8, 3, 224, 224)


@pytest.mark.parametrize(
    "kwargs",
    [{"mode": "eval"}, {"modality": "depth"}, {"num_crops": 3}, {"short_side": 100}, {"multilabel": True}],
)
def test_spec_rejects_invalid_values(kwargs):
    with pytest.raises(ValueError):
        PipelineSpec("/videos", **kwargs)


def test_invalid_mode_and_modality_messages_list_the_allowed_values():
    with pytest.raises(ValueError, match=r"^mode must be train, val or test, got 'eval'$"):
        PipelineSpec("/videos", mode="eval")
    with pytest.raises(ValueError, match=r"^modality must be rgb or flow, got 'depth'$"):
        PipelineSpec("/videos", modality="depth")
