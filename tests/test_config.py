"""Flat dotted-key configs: round trip, errors that name the key, files and overrides, the Literal aliases."""

import dataclasses
import typing

import pytest

from rlx import config
from rlx.config import ConfigError, ModelConfig, RunConfig, TrainConfig, load_flat_yaml, parse_overrides
from rlx.data.pipeline import PipelineSpec


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
        ({"train.threads": -1}, r"train.threads: -1 must be >= 0 \(0: the worker's whole CPUs\)"),
    ],
)
def test_bad_keys_and_values_name_the_key(flat, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig.from_flat(flat)


def test_a_workers_threads_are_its_whole_cpus_unless_set():
    assert [TrainConfig(cpus_per_worker=c).worker_threads for c in (0.25, 0.5, 1, 1.5, 8)] == [1, 1, 1, 1, 8]
    assert TrainConfig(cpus_per_worker=0.5, threads=2).worker_threads == 2


def test_sections_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        ModelConfig().arch = "tsn"  # type: ignore[misc]


def test_flip_key_reaches_the_pipeline_spec():
    off = PipelineSpec.from_config(RunConfig.from_flat({"data.flip": False}).data, "train", "/videos")
    on = PipelineSpec.from_config(RunConfig().data, "train", "/videos")
    assert off.flip is False and on.flip is True


def test_placement_strategy_defaults_to_pack_and_rejects_unknown_strategies():
    assert RunConfig().train.placement_strategy == "PACK"
    assert (
        RunConfig.from_flat({"train.placement_strategy": "STRICT_SPREAD"}).train.placement_strategy == "STRICT_SPREAD"
    )
    with pytest.raises(ConfigError, match="train.placement_strategy: 'spread' is not one of 'PACK', 'SPREAD'"):
        RunConfig.from_flat({"train.placement_strategy": "spread"})


def test_every_closed_set_field_is_annotated_with_a_named_alias():
    # One source of truth: builders and checks elsewhere import these aliases, so none may be written inline.
    for section in dataclasses.fields(RunConfig):
        cls = typing.get_type_hints(RunConfig)[section.name]
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if typing.get_origin(hints[f.name]) is typing.Literal:
                assert hasattr(config, f.type) and getattr(config, f.type) == hints[f.name], f"{section.name}.{f.name}"


def test_yaml_file_nested_or_dotted_is_flat(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("model:\n  arch: tsn\n  dropout: 0.5\ndata.num_segments: 3\n")
    assert load_flat_yaml(path) == {"model.arch": "tsn", "model.dropout": 0.5, "data.num_segments": 3}
    (tmp_path / "empty.yaml").write_text("")
    assert load_flat_yaml(tmp_path / "empty.yaml") == {}


@pytest.mark.parametrize(
    "text,message",
    [
        (None, "config file not found: .*nope.yaml"),
        ("model: [unclosed", "nope.yaml: not valid YAML"),
        ("- a\n- b\n", "nope.yaml: expected a mapping of config keys, got list"),
    ],
)
def test_bad_yaml_file_names_the_file(tmp_path, text, message):
    path = tmp_path / "nope.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_flat_yaml(path)


def test_overrides_are_yaml_scalars_and_lists():
    flat = parse_overrides(["model.dropout=0.5", "train.use_gpu=true", "optim.milestones=[35, 45]", "a = conv5_2"])
    assert flat == {"model.dropout": 0.5, "train.use_gpu": True, "optim.milestones": [35, 45], "a": "conv5_2"}
    with pytest.raises(ConfigError, match="--set expects key=value, got 'model.dropout'"):
        parse_overrides(["model.dropout"])


def test_multilabel_is_derived_for_the_official_datasets_and_stated_for_custom():
    assert RunConfig.from_flat({"data.dataset": "charades"}).data.multilabel is True
    assert RunConfig.from_flat({"data.dataset": "ucf101"}).data.multilabel is False
    assert RunConfig.from_flat({"data.dataset": "charades", "data.multilabel": True}).data.multilabel is True
    with pytest.raises(ConfigError, match=r"data.multilabel: 'auto' must be stated \(true or false\) for .*custom"):
        RunConfig.from_flat({"data.dataset": "custom"})
    with pytest.raises(ConfigError, match=r"data.multilabel: True contradicts data.dataset=hmdb51 \(single-label\)"):
        RunConfig.from_flat({"data.dataset": "hmdb51", "data.multilabel": True})
    with pytest.raises(ConfigError, match=r"data.multilabel: 1 is not one of 'auto', True, False"):
        RunConfig.from_flat({"data.dataset": "custom", "data.multilabel": 1})
    custom = RunConfig.from_flat({"data.dataset": "custom", "data.multilabel": True})
    assert custom.data.multilabel is True
    flat = custom.to_flat()  # logged resolved, and reads back the same
    assert flat["data.multilabel"] is True and RunConfig.from_flat(flat) == custom
    assert RunConfig().to_flat()["data.multilabel"] is False


def test_classes_are_names_or_ids_kept_as_text():
    data = RunConfig.from_flat({"data.classes": ["walk", 3]}).data
    assert data.classes == ("walk", "3") and RunConfig().data.classes == ()
    assert RunConfig.from_flat(parse_overrides(["data.classes=[run, 7]"])).data.classes == ("run", "7")
    with pytest.raises(ConfigError, match=r"data.classes\[1\]: expected a class name or id, got True"):
        RunConfig.from_flat({"data.classes": ["walk", True]})
    with pytest.raises(ConfigError, match=r"data.classes: \['walk', 'walk'\] lists a class twice"):
        RunConfig.from_flat({"data.classes": ["walk", "walk"]})


def test_a_literal_bool_member_matches_bools_only():
    assert config.coerce(typing.Literal[1, 2], 1, "k") == 1
    with pytest.raises(ConfigError, match="True is not one of 1, 2"):
        config.coerce(typing.Literal[1, 2], True, "k")
    assert config.coerce(config.MultiLabel, False, "k") is False
    with pytest.raises(ConfigError, match="0 is not one of 'auto', True, False"):
        config.coerce(config.MultiLabel, 0, "k")
