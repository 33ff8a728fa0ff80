"""Flat dotted-key configs: round trip, and errors that name the key."""
import pytest

from rlx.config import ConfigError, ModelConfig, RunConfig


def test_defaults_are_the_paper_recipe():
    cfg = RunConfig()
    assert (cfg.model.arch, cfg.model.backbone, cfg.model.insert_after) == ("two_branch", "resnetv2_101", "conv5_2")
    assert cfg.model.pairwise == "embedded_gaussian" and cfg.model.scale_attention is False
    assert (cfg.model.bn_mode, cfg.model.bn_momentum) == ("moving", 0.001)
    assert (cfg.optim.lr, cfg.optim.momentum, cfg.optim.weight_decay, cfg.optim.batch_size) == (5e-4, 0.9, 5e-4, 24)
    assert cfg.data.num_segments == 8


def test_flat_round_trip_and_int_to_float():
    cfg = RunConfig.from_flat({"model.dropout": 0, "data.split": 2, "optim.milestones": [3, 4], "model.arch": "tsn"})
    assert cfg.model.dropout == 0.0 and isinstance(cfg.model.dropout, float)
    assert cfg.optim.milestones == (3, 4) and cfg.data.split == 2
    flat = cfg.to_flat()
    assert flat["optim.milestones"] == [3, 4] and "model.scale_attention" in flat
    assert RunConfig.from_flat(flat) == cfg


@pytest.mark.parametrize(
    "flat,message",
    [
        ({"model.dropot": 0.5}, "unknown config key 'model.dropot'"),
        ({"dropout": 0.5}, "unknown config key 'dropout'"),
        ({"model.arch": "tsm"}, "model.arch: 'tsm' is not one of 'two_branch', 'local', 'nonlocal', 'tsn'"),
        ({"data.split": 4}, "data.split: 4 is not one of 1, 2, 3"),
        ({"data.split": True}, "data.split: True is not one of"),
        ({"model.dropout": 1.0}, r"model.dropout: 1.0 must be in \[0, 1\)"),
        ({"model.dropout": "high"}, "model.dropout: expected a number, got 'high'"),
        ({"train.use_gpu": "yes"}, "train.use_gpu: expected true/false"),
        ({"data.num_segments": 8.5}, "data.num_segments: expected an integer"),
        ({"optim.milestones": [45, 35]}, "optim.milestones: .* must be increasing"),
        ({"optim.milestones": 35}, "optim.milestones: expected a list"),
    ],
)
def test_bad_keys_and_values_name_the_key(flat, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig.from_flat(flat)


def test_sections_are_frozen():
    with pytest.raises(Exception):
        ModelConfig().arch = "tsn"  # type: ignore[misc]


def test_flip_key_reaches_the_pipeline_spec():
    from rlx.data.pipeline import PipelineSpec

    off = PipelineSpec.from_config(RunConfig.from_flat({"data.flip": False}).data, "train", "/videos")
    on = PipelineSpec.from_config(RunConfig().data, "train", "/videos")
    assert off.flip is False and on.flip is True


def test_placement_strategy_defaults_to_pack_and_rejects_unknown_strategies():
    assert RunConfig().train.placement_strategy == "PACK"
    assert RunConfig.from_flat({"train.placement_strategy": "STRICT_SPREAD"}).train.placement_strategy == "STRICT_SPREAD"
    with pytest.raises(ConfigError, match="train.placement_strategy: 'spread' is not one of 'PACK', 'SPREAD'"):
        RunConfig.from_flat({"train.placement_strategy": "spread"})
