"""The plan of a search (`--dry-run`): groups, trials, trial-epochs and the GPU-hour estimate, checked by hand."""

from pathlib import Path

import pytest
import yaml

from rlx.data import splits
from rlx.tune.placement import ClusterSpec, NodeType
from rlx.tune.plan import describe, plan_group
from rlx.tune.space import load_space

GPU_NODE = {"CPU": 16, "GPU": 8}


def space_of(tmp_path: Path, fixed: dict, gpus: int = 1, **body):
    raw = {
        "name": "plan-test",
        "description": "a hand-checked plan",
        "fixed": fixed,
        "resources": {"workers_per_trial": 1, "gpus_per_worker": gpus, "cpus_per_worker": 2},
        **body,
    }
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return load_space(path, check_data=False, cluster=GPU_NODE)


def test_two_stream_ucf101_space(tmp_path):
    space = space_of(
        tmp_path,
        {"data.dataset": "ucf101", "model.backbone": "resnetv2_50", "optim.epochs": 10, "optim.milestones": [8]},
        axes={"data.modality": ["rgb", "flow"]},
        search={"model.arch": {"grid": ["local", "two_branch"]}, "optim.lr": {"loguniform": [1e-4, 1e-2]}},
        num_samples=3,
        fusion={"step": 0.1},
    )
    rgb, flow = (plan_group(space, g) for g in space.groups())
    assert (rgb.trials, rgb.max_trial_epochs) == (6, 60)  # 3 samples × 2 archs; × 10 epochs
    # the dearer arch of the grid: ResNet-50-v2 two_branch, 2.4 ms per training video;
    # UCF-101 split 1: 9537 train videos × 10 epochs, 3783 test videos × 20 views forward-only (a third)
    trial_seconds = 0.0024 * 9537 * 10 + 0.0024 / 3 * 3783 * 20
    assert rgb.gpu_hours == pytest.approx(6 * trial_seconds / 3600)  # 0.482 h
    assert flow.gpu_hours == pytest.approx(6 * 1.3 * trial_seconds / 3600)  # the flow data path: ×1.3
    assert rgb.cost_basis == "2.4 ms/video on an A100 (estimate, see rlx/tune/plan.py)"

    lines = describe(space).splitlines()
    assert lines[:5] == [
        "search plan-test: a hand-checked plan",
        f"file: {space.path}",
        "metric: val/top1 (max), scheduler: fifo",
        "searched: model.arch grid ['local', 'two_branch'] [scientific], "
        "optim.lr loguniform [0.0001, 0.01] [scientific]",
        "resources per trial: 1 worker(s) × 1 GPU, 2 CPU",
    ]
    rows = [line.split() for line in lines[7:10]]
    assert rows == [
        ["data.modality=rgb", "6", "60", "0.482"],
        ["data.modality=flow", "6", "60", "0.627"],
        ["total", "12", "120", "1.11"],
    ]
    assert lines[10:] == [
        "GPU-hours: upper bound (every trial to the last epoch), "
        "2.4 ms/video on an A100 (estimate, see rlx/tune/plan.py)",
        "fusion: RGB/flow weight searched on validation scores, step 0.1",
    ]


def test_fewer_segments_and_smaller_crops_cost_proportionally_less(tmp_path):
    space = space_of(
        tmp_path,
        {
            "data.dataset": "hmdb51",
            "model.arch": "tsn",
            "data.num_segments": 4,
            "data.input_size": 112,
            "optim.epochs": 2,
            "optim.milestones": [1],
        },
    )
    (plan,) = (plan_group(space, g) for g in space.groups())
    per_video = 0.0034 * 4 / 8 * (112 / 224) ** 2  # ResNet-101-v2 TSN at T = 8, 224²; here T = 4, 112²
    trial_seconds = per_video * 3570 * 2 + per_video / 3 * 1530 * 20  # HMDB-51 split 1: 3570 train, 1530 test
    assert (plan.trials, plan.max_trial_epochs) == (1, 2)
    assert plan.gpu_hours == pytest.approx(trial_seconds / 3600)
    assert plan.cost_basis.startswith("0.4 ms/video")


def test_synthetic_videos_and_a_backbone_without_a_cost_row(tmp_path):
    space = space_of(
        tmp_path,
        {
            "data.dataset": "synthetic",
            "data.synthetic_videos_per_class": 8,
            "model.backbone": "resnetv2_small",
            "model.arch": "local",
            "optim.epochs": 3,
            "optim.milestones": [2],
        },
    )
    (plan,) = (plan_group(space, g) for g in space.groups())
    # 8 clips per class, a quarter to test: 6 + 2, × 11 classes; no cost row for resnetv2_small: the dearest
    # row (ResNet-101-v2 two_branch, 4.4 ms) stands in
    trial_seconds = 0.0044 * 66 * 3 + 0.0044 / 3 * 22 * 20
    assert plan.gpu_hours == pytest.approx(trial_seconds / 3600)


def test_cpu_space_has_no_gpu_hours(tmp_path):
    space = space_of(
        tmp_path,
        {"data.dataset": "synthetic", "optim.epochs": 4, "optim.milestones": [3]},
        gpus=0,
        search={"model.arch": {"grid": ["local", "nonlocal", "two_branch"]}},
        scheduler={"type": "asha", "grace_period": 1, "reduction_factor": 2},
    )
    (plan,) = (plan_group(space, g) for g in space.groups())
    assert (plan.trials, plan.max_trial_epochs, plan.gpu_hours) == (3, 12, None)
    assert plan.cost_basis == "CPU trials: no GPU-hours"
    lines = describe(space).splitlines()
    assert lines[2] == "metric: val/top1 (max), scheduler: asha (grace 1, reduction 2)"
    assert [line.split() for line in lines[-2:]] == [["all", "3", "12", "-"], ["total", "3", "12", "0"]]


def test_with_a_cluster_the_plan_names_the_node_type_of_each_group(tmp_path):
    space = space_of(
        tmp_path, {"data.dataset": "ucf101", "optim.epochs": 1, "optim.milestones": []}, axes={"data.split": [1, 2]}
    )
    cluster = ClusterSpec("c.yaml", (NodeType("head", {"CPU": 0}, 1), NodeType("gpu1", {"CPU": 16, "GPU": 1}, 8)))
    lines = describe(space, cluster).splitlines()
    assert "cluster: c.yaml (each trial on the smallest node type that holds its workers)" in lines
    rows = [line for line in lines if line.startswith("data.split=")]
    assert len(rows) == 2 and all(row.endswith("  gpu1, 1 trial(s)/node, up to 8 at once") for row in rows)


def test_a_custom_dataset_is_costed_by_its_index_and_class_subset(tmp_path):
    for cls in ("a", "b", "c"):
        for i in range(4):
            (tmp_path / "tree" / cls).mkdir(parents=True, exist_ok=True)
            (tmp_path / "tree" / cls / f"{i}.mp4").write_bytes(b"")
    index = splits.index_from("folder", splits.FormatSources(root=tmp_path / "tree", test_fraction=0.25))
    splits.write_index(index, tmp_path / "i.parquet")
    fixed = {"data.dataset": "custom", "data.multilabel": False, "data.index": str(tmp_path / "i.parquet")}
    fixed |= {"model.backbone": "resnetv2_50", "model.arch": "tsn", "optim.epochs": 2, "optim.milestones": [1]}
    space = space_of(tmp_path, {**fixed, "data.classes": ["c", "a"]})
    (group,) = space.groups()
    plan = plan_group(space, group)
    per_video = 0.0018  # ResNet-50-v2 TSN; 2 of 3 classes: 6 train, 2 test videos (round(0.25 x 4) = 1 per class)
    assert plan.gpu_hours == pytest.approx((per_video * 6 * 2 + per_video / 3 * 2 * 20) / 3600)
