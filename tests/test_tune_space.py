"""Search-space files: every mistake is caught before Ray starts, with the file and the key."""

import pickle
from pathlib import Path

import pytest

from rlx.tune.plan import describe
from rlx.tune.space import SpaceError, apply_overrides, load_space, referenced_group

GOOD = """
name: ablation-test
description: a small valid space
fixed: {data.dataset: synthetic, model.backbone: resnetv2_small, optim.epochs: 4, optim.milestones: [3]}
axes:
  data.num_segments: [4, 8]
  data.split: [1]
search:
  model.arch: {grid: [local, two_branch]}
  model.insert_after: {grid: [conv5_1, conv5_2, conv5_3]}
  model.dropout: {uniform: [0.5, 0.9], role: nuisance}
  model.bn_momentum: {loguniform: [0.0001, 0.1], role: nuisance}
  data.input_size: {randint: [64, 96]}
num_samples: 2
scheduler: {type: asha, grace_period: 1, reduction_factor: 2}
metric: val/top1
mode: max
resources: {workers_per_trial: 1, gpus_per_worker: 0, cpus_per_worker: 1}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return path


def test_valid_space_expands_into_groups_and_trials(tmp_path):
    space = load_space(write(tmp_path, GOOD))
    groups = space.groups()
    assert [g.key for g in groups] == ["data.num_segments=4,data.split=1", "data.num_segments=8,data.split=1"]
    assert groups[0].slug == "num_segments_4-split_1"
    assert space.trials_per_group() == 2 * 2 * 3  # num_samples × grid sizes
    assert groups[1].flat["data.num_segments"] == 8 and groups[1].flat["model.backbone"] == "resnetv2_small"
    assert groups[1].flat["train.num_workers"] == 1 and groups[1].flat["train.use_gpu"] is False
    assert (
        space.sample_flat(groups[1])["model.arch"] == "local" and space.sample_flat(groups[1])["model.dropout"] == 0.5
    )
    assert space.search["model.dropout"].role == "nuisance"
    assert space.search["data.input_size"].values == (64, 96)


@pytest.mark.parametrize(
    "change,key,message",
    [
        (("mode: max", "mode: maximum"), "mode", "'maximum' is not max or min"),
        (("num_samples: 2", "num_samples: 2\nsamples: 3"), "samples", "unknown key"),
        (
            ("model.dropout: {uniform: [0.5, 0.9]", "model.dropot: {uniform: [0.5, 0.9]"),
            "search.model.dropot",
            "unknown config key 'model.dropot'",
        ),
        (("[0.5, 0.9]", "[0.9, 0.5]"), "search.model.dropout.uniform", r"range \[0.9, 0.5\] is empty"),
        (("[0.0001, 0.1]", "[0, 0.1]"), "search.model.bn_momentum.loguniform", "loguniform needs low > 0"),
        (("conv5_3]", "conv4_3]"), "search.model.insert_after", "'conv4_3' rejected"),
        (("[local, two_branch]", "[local, tsm]"), "search.model.arch", "'tsm' rejected"),
        (("data.split: [1]", "data.split: [4]"), "axes.data.split", "data.split: 4 is not one of 1, 2, 3"),
        (("data.split: [1]", "data.split: []"), "axes.data.split", "expected a non-empty list"),
        (("metric: val/top1", "metric: val/mAP"), "metric", "'val/mAP' is not reported by single-label runs"),
        (
            ("{grid: [local, two_branch]}", "{grid: [local, two_branch], sobol: 3}"),
            "search.model.arch.sobol",
            "unknown sampler",
        ),
        (("type: asha", "type: hyperband"), "scheduler.type", "'hyperband' is not fifo or asha"),
        (
            ("gpus_per_worker: 0", "gpus_per_worker: 1"),
            "resources.gpus_per_worker",
            "1 GPU per worker but the largest node has 0",
        ),
        (("cpus_per_worker: 1", "cpus_per_worker: 64"), "resources.cpus_per_worker", "64 CPUs per worker"),
        (("optim.epochs: 4,", "optim.epochs: 4, model.arch: tsn,"), "search.model.arch", "also set in fixed"),
        (("description: a small valid space", "description: ''"), "description", "required"),
        (
            ("optim.epochs: 4,", "optim.epochs: 4, train.num_workers: 2,"),
            "train.num_workers",
            "set by resources.workers_per_trial",
        ),
    ],
)
def test_mistakes_name_the_file_and_the_key(tmp_path, change, key, message):
    old, new = change
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(SpaceError, match=message) as err:
        load_space(path)
    assert (err.value.file, err.value.key) == (str(path), key)
    assert str(err.value) == f"{path}: {key}: {err.value.reason}"


@pytest.mark.parametrize(
    "change,key,reason",
    [
        # a value RunConfig rejects is blamed on the space key that set it, whatever section it is in
        (("optim.epochs: 4,", "optim.epochs: 0,"), "fixed.optim.epochs", "optim.epochs: 0 must be >= 1"),
        (
            ("optim.epochs: 4,", "optim.epochs: 4, modl.x: 1,"),
            "fixed.modl.x",
            "unknown config key 'modl.x' (sections: data, model, optim, eval, train)",
        ),
        (
            ("optim.milestones: [3]", "optim.milestones: [3, 1]"),
            "fixed.optim.milestones",
            "optim.milestones: (3, 1) must be increasing",
        ),
        (
            ("optim.epochs: 4,", "optim.epochs: 4, data.short_side: 50,"),
            "fixed.data.short_side",
            "data.short_side: 50 must be >= data.input_size",
        ),
        # the axis value of the second group (not the first searched key, as it used to be)
        (("data.split: [1]", "data.split: [1, 4]"), "axes.data.split", "data.split: 4 is not one of 1, 2, 3"),
        (
            ("data.num_segments: [4, 8]", "data.num_segments: [4, 0]"),
            "axes.data.num_segments",
            "data.num_segments: 0 must be >= 1",
        ),
        # a first searched value: the config's own message; any other value: "rejected"
        (
            ("[local, two_branch]", "[tsm, local]"),
            "search.model.arch",
            "model.arch: 'tsm' is not one of 'two_branch', 'local', 'nonlocal', 'tsn'",
        ),
        (
            ("model.dropout: {uniform: [0.5, 0.9]", "model.dropout: {uniform: [0.5, 1.9]"),
            "search.model.dropout",
            "1.9 rejected (model.dropout: 1.9 must be in [0, 1))",
        ),
        (
            ("{randint: [64, 96]}", "{randint: [64, 960]}"),
            "search.data.input_size",
            "960 rejected (data.short_side: 256 must be >= data.input_size)",
        ),
        (
            ("search:\n", "search:\n  data.short_side: {grid: [60, 120]}\n"),
            "search.data.short_side",
            "data.short_side: 60 must be >= data.input_size",
        ),
    ],
)
def test_rejected_config_values_are_blamed_on_the_space_key_that_set_them(tmp_path, change, key, reason):
    old, new = change
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(SpaceError) as err:
        load_space(path)
    assert (err.value.file, err.value.key, err.value.reason) == (str(path), key, reason)


def test_a_bundle_value_is_blamed_on_its_axis(tmp_path):
    text = GOOD.replace(
        """axes:
  data.num_segments: [4, 8]""",
        """axes:
  stream:
    - {name: a, data.modality: rgb, optim.batch_size: 8}
    - {name: b, data.modality: rgb, optim.batch_size: 0}""",
    )
    with pytest.raises(SpaceError) as err:
        load_space(write(tmp_path, text))
    assert (err.value.key, err.value.reason) == ("axes.stream", "optim.batch_size: 0 must be >= 1")


def test_two_keys_valid_only_together_are_not_blamed_for_a_third_mistake(tmp_path):
    # input_size 300 needs short_side >= 300: alone either key would fail, together they are fine
    text = GOOD.replace("optim.epochs: 4,", "optim.epochs: 4, data.short_side: 320,").replace(
        "data.input_size: {randint: [64, 96]}", "data.input_size: {grid: [300]}\n  optim.lr: {grid: [-1.0]}"
    )
    with pytest.raises(SpaceError) as err:
        load_space(write(tmp_path, text))
    assert (err.value.key, err.value.reason) == ("search.optim.lr", "optim.lr: -1.0 must be > 0")
    # two mistakes: the first in file order
    text = GOOD.replace("optim.epochs: 4,", "optim.epochs: 4, optim.lr: -1, model.dropout: 2,")
    with pytest.raises(SpaceError) as err:
        load_space(write(tmp_path, text.replace("  model.dropout: {uniform: [0.5, 0.9], role: nuisance}\n", "")))
    assert (err.value.key, err.value.reason) == ("fixed.optim.lr", "optim.lr: -1.0 must be > 0")


def test_file_level_errors_have_no_key(tmp_path):
    with pytest.raises(SpaceError) as err:
        load_space(tmp_path / "missing.yaml")
    assert (err.value.key, str(err.value)) == ("", f"{tmp_path / 'missing.yaml'}: file not found")
    with pytest.raises(SpaceError, match="expected a mapping at the top level"):
        load_space(write(tmp_path, "- 1\n"))


def test_space_error_survives_pickling():  # Ray ships exceptions between processes
    err = SpaceError("s.yaml", "axes.stream", "bad", with_set=True)
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.file, copy.key, copy.reason, copy.with_set) == ("s.yaml", "axes.stream", "bad", True)
    assert str(copy) == "s.yaml (with --set): axes.stream: bad"


def test_overrides_are_added_to_fixed_and_checked_again(tmp_path):
    space = load_space(write(tmp_path, GOOD))
    updated = apply_overrides(space, {"optim.epochs": 2, "optim.lr": 0.1})
    assert updated.fixed["optim.epochs"] == 2 and updated.fixed["optim.lr"] == 0.1
    assert space.fixed["optim.epochs"] == 4  # the loaded space is left alone
    with pytest.raises(SpaceError) as err:
        apply_overrides(space, {"optim.epochs": 0})
    assert (err.value.key, err.value.with_set) == ("fixed.optim.epochs", True)
    assert str(err.value).startswith(f"{space.path} (with --set): fixed.optim.epochs: optim.epochs: 0 must be >= 1")
    with pytest.raises(SpaceError) as err:
        apply_overrides(space, {"model.arch": "tsn"})
    assert err.value.key == "--set model.arch" and "only fixed keys can be set" in err.value.reason
    with pytest.raises(SpaceError, match="--set train.num_workers: the key is an axis or searched"):
        apply_overrides(space, {"train.num_workers": 2})


def test_missing_dataset_is_reported_with_its_path(tmp_path):
    text = GOOD.replace(
        "data.dataset: synthetic", "data.dataset: ucf101, data.videos: /nowhere/ucf101, data.annotations: /nowhere/ann"
    )
    with pytest.raises(SpaceError, match=r"dataset not found at /nowhere/ucf101 \(data.videos\); see README"):
        load_space(write(tmp_path, text))


def test_cluster_resources_are_checked_against_the_largest_node(tmp_path):
    text = GOOD.replace("gpus_per_worker: 0", "gpus_per_worker: 1")
    space = load_space(write(tmp_path, text), cluster={"CPU": 16, "GPU": 8})
    assert space.resources.gpus_per_worker == 1


def test_dry_run_plan_counts_trials_and_estimates_gpu_hours(tmp_path):
    text = GOOD.replace("gpus_per_worker: 0", "gpus_per_worker: 1")
    space = load_space(write(tmp_path, text), cluster={"CPU": 16, "GPU": 8})
    plan = describe(space)
    assert "data.num_segments=4,data.split=1" in plan and "model.dropout uniform [0.5, 0.9] [nuisance]" in plan
    total = [line for line in plan.splitlines() if line.startswith("total")][0].split()
    assert total[1:3] == ["24", "96"]  # 2 groups × 12 trials; × 4 epochs
    assert float(total[3]) > 0 and "estimate" in plan


SPACES = sorted((Path(__file__).parent.parent / "tune_spaces").glob("*.yaml"))
GPU_NODE = {"CPU": 96, "GPU": 8}


@pytest.mark.parametrize("path", SPACES, ids=lambda p: p.stem)
def test_every_shipped_space_is_valid(path):
    space = load_space(path, check_data=False, cluster=GPU_NODE)
    assert space.groups() and space.trials_per_group() >= 1
    assert describe(space)


@pytest.mark.parametrize("path", [p for p in SPACES if p.stem != "smoke"], ids=lambda p: p.stem)
def test_real_data_spaces_say_where_the_data_is_missing(path):
    with pytest.raises(SpaceError, match=r"dataset not found at .*; see README"):
        load_space(path, cluster=GPU_NODE)


def test_smoke_space_validates_on_this_machine():
    space = load_space(Path(__file__).parent.parent / "tune_spaces" / "smoke.yaml")
    assert space.search["model.arch"].values == ("local", "nonlocal", "two_branch")


def test_bundled_axis_moves_keys_together(tmp_path):
    text = GOOD.replace(
        """axes:
  data.num_segments: [4, 8]
  data.split: [1]""",
        """axes:
  stream:
    - {data.modality: rgb, optim.epochs: 4}
    - {data.modality: flow, data.new_length: 10, optim.epochs: 6}""",
    ).replace("optim.epochs: 4, ", "")
    space = load_space(write(tmp_path, text), check_data=False)  # no flow for the synthetic data
    groups = space.groups()
    assert [g.key for g in groups] == ["stream=rgb", "stream=flow"]
    assert groups[1].flat["data.new_length"] == 10 and groups[1].flat["optim.epochs"] == 6
    assert space.sample_config(groups[1]).data.in_channels == 20


def test_bundles_with_the_same_label_need_names(tmp_path):
    text = GOOD.replace(
        """axes:
  data.num_segments: [4, 8]""",
        """axes:
  stream:
    - {data.num_segments: 4, optim.batch_size: 8}
    - {data.num_segments: 4, optim.batch_size: 16}""",
    )
    with pytest.raises(SpaceError, match="axes.stream: two values share the label .*give each bundle a `name`"):
        load_space(write(tmp_path, text))


STREAMS = """axes:
  stream:
    - {data.modality: rgb}
    - {data.modality: flow, data.new_length: 10, model.init_from: "group:stream=rgb"}"""


def test_a_group_may_start_from_an_earlier_group_only(tmp_path):
    text = GOOD.replace("axes:\n  data.num_segments: [4, 8]\n  data.split: [1]", STREAMS)
    groups = load_space(write(tmp_path, text), check_data=False).groups()
    assert groups[1].flat["model.init_from"] == "group:stream=rgb"

    backwards = text.replace("- {data.modality: rgb}", '- {data.modality: rgb, model.init_from: "group:stream=flow"}')
    with pytest.raises(
        SpaceError,
        match=r"group stream=rgb: model.init_from 'group:stream=flow' names no earlier group "
        r"\(groups run in this order: stream=rgb, stream=flow\)",
    ):
        load_space(write(tmp_path, backwards), check_data=False)
    typo = text.replace("group:stream=rgb", "group:stream=RGB")
    with pytest.raises(SpaceError, match="group stream=flow: model.init_from 'group:stream=RGB' names no earlier"):
        load_space(write(tmp_path, typo), check_data=False)


def test_a_reference_names_only_the_axes_that_differ():
    flow = "data.split=2,stream=ucf101-flow"
    assert referenced_group(flow, "stream=ucf101-rgb") == "data.split=2,stream=ucf101-rgb"
    assert referenced_group(flow, "data.split=1,stream=ucf101-rgb") == "data.split=1,stream=ucf101-rgb"
    assert referenced_group(flow, "modality=rgb") == "modality=rgb"  # no such axis: kept, so the error shows it
    assert referenced_group("stream=flow", "stream=rgb") == "stream=rgb"


def test_refit_needs_a_boolean_and_a_hold_out_to_select_on(tmp_path):
    assert load_space(write(tmp_path, GOOD + "refit: true\n"), check_data=False).refit
    with pytest.raises(SpaceError, match="space.yaml: refit: expected true or false, got 'yes please'"):
        load_space(write(tmp_path, GOOD + "refit: yes please\n"), check_data=False)
    no_hold_out = GOOD.replace("fixed: {", "fixed: {data.val_fraction: 0, ") + "refit: true\n"
    with pytest.raises(SpaceError, match=r"refit: group .* has no validation hold-out \(data.val_fraction 0\)"):
        load_space(write(tmp_path, no_hold_out), check_data=False)
    plan = describe(load_space(write(tmp_path, GOOD + "refit: true\n"), check_data=False))
    assert "refit: then each group's selected trial trains again on the whole training split (2 more runs" in plan
