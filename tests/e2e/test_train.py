"""End to end on a real local Ray: synthetic videos → Ray Data → Ray Train (1 and 2
workers, DDP on gloo) → 20-view test → MLflow; a killed worker and a rerun resume
from the last checkpoint."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pandas as pd
import pytest
import ray
import torch
from ray.train import TrainingFailedError

from rlx.config import RunConfig
from rlx.data.synthetic import ensure_benchmark
from rlx.tracking import find_run
from rlx.train.context import RunContext
from rlx.train.driver import run_training
from rlx.train.local import run_local
from rlx.train.prepare import prepare_dataset

pytestmark = pytest.mark.slow

TINY = {
    "data.dataset": "synthetic",
    "data.synthetic_videos_per_class": 4,
    "data.synthetic_frames": 16,
    "data.synthetic_size": 64,
    "data.input_size": 64,
    "data.short_side": 64,
    "data.num_segments": 4,
    "data.val_fraction": 0.34,
    "data.loader_tasks": 1,
    "data.loader_cpus": 0.25,
    "model.arch": "two_branch",
    "model.backbone": "resnetv2_small",
    "model.bn_mode": "batch",
    "model.dropout": 0.5,
    "optim.lr": 0.01,
    "optim.epochs": 2,
    "optim.milestones": [1],
    "optim.batch_size": 4,
    "eval.num_groups": 4,
    "eval.num_crops": 5,
    "eval.view_budget": 8,
    "train.cpus_per_worker": 0.5,
}


@pytest.fixture(scope="module")
def ray_local(tmp_path_factory):
    os.environ["RAY_TRAIN_HEALTH_CHECK_INTERVAL_S"] = "0.5"  # reports are polled; keep the tests short
    # A system-metrics sample every second (MLflow's own override; rlx samples every 10 s): a tiny run on a fast
    # machine can end before its first 10-s sample, and MLflow drops a partial interval.
    os.environ["MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL"] = "1"
    ray.init(address="local", num_cpus=2, include_dashboard=False, configure_logging=False)
    yield
    ray.shutdown()
    del os.environ["MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL"]  # unit tests of the monitor set their own interval


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


def run(tmp_path: Path, cache: Path, name: str, **overrides):
    cfg = RunConfig.from_flat({**TINY, "data.cache_dir": str(cache), **overrides})
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    ctx = RunContext(
        name=name,
        storage=str(tmp_path / "runs"),
        tracking_uri=uri,
        experiment="e2e",
        dataset_dir=str(prepare_dataset(cfg.data)),
    )
    return cfg, ctx, run_training(cfg, ctx)


def progress(ctx: RunContext) -> list[str]:
    return (Path(ctx.storage) / ctx.name / "progress.log").read_text().splitlines()


def test_one_worker_trains_tests_on_20_views_and_logs_to_mlflow(ray_local, cache, tmp_path):
    cfg, ctx, result = run(tmp_path, cache, "one-worker")
    assert result.error is None
    tracker = find_run("e2e", "one-worker", tracking_uri=ctx.tracking_uri)
    mlrun = tracker.client.get_run(tracker.run_id)
    assert mlrun.data.params["model.arch"] == "two_branch" and mlrun.info.status == "FINISHED"
    assert [s for s, _ in tracker.metric_history("train/loss")] == [1, 2]
    for key in ("val/top1", "val/top5", "val/loss", "test/top1", "test/top5", "test/mean_class_acc", "data/skipped"):
        assert key in mlrun.data.metrics, key
    assert 0.0 <= mlrun.data.metrics["test/top1"] <= mlrun.data.metrics["test/top5"] <= 1.0

    artifacts = Path(mlrun.info.artifact_uri.removeprefix("file://"))
    test_scores = pd.read_parquet(artifacts / "scores" / "test.parquet")
    index = pd.read_parquet(Path(ctx.dataset_dir) / "index.parquet")
    classes = (Path(ctx.dataset_dir) / "classes.txt").read_text().splitlines()
    assert sorted(test_scores["video_id"]) == sorted(index.loc[index["subset"] == "test", "video_id"])
    assert list(test_scores.columns) == ["video_id", "label", *classes]
    val_scores = pd.read_parquet(artifacts / "scores" / "val.parquet")
    assert set(val_scores["video_id"]) == set(index.loc[index["subset"] == "val", "video_id"])
    assert (artifacts / "config" / "resolved.yaml").is_file() and (
        artifacts / "plots" / "confusion_matrix.png"
    ).is_file()

    # The worker's system metrics (MLflow's monitor; every 1 s here) and the prepared dataset as the run's input.
    assert 0.0 <= mlrun.data.metrics["system/rank_0/cpu_utilization_percentage"] <= 100.0
    assert mlrun.data.metrics["system/rank_0/system_memory_usage_megabytes"] > 0
    (entry,) = mlrun.inputs.dataset_inputs
    assert entry.dataset.name == "synthetic-split1" and json.loads(entry.dataset.source) == {"uri": ctx.dataset_dir}
    profile = json.loads(entry.dataset.profile)
    assert profile["subsets"] == {s: int((index["subset"] == s).sum()) for s in ("train", "val", "test")}
    assert profile["classes"] == classes

    ckpts = sorted(p.name for p in (Path(ctx.storage) / ctx.name).glob("epoch_*"))
    assert ckpts == ["epoch_0001", "epoch_0002"]
    assert (Path(ctx.storage) / ctx.name / "epoch_0002" / "state.pt").is_file()


def test_two_workers_ddp_cover_the_whole_test_set(ray_local, cache, tmp_path):
    _, ctx, result = run(
        tmp_path, cache, "two-workers", **{"train.num_workers": 2, "optim.epochs": 1, "optim.milestones": []}
    )
    assert result.error is None
    tracker = find_run("e2e", "two-workers", tracking_uri=ctx.tracking_uri)
    artifacts = Path(tracker.client.get_run(tracker.run_id).info.artifact_uri.removeprefix("file://"))
    index = pd.read_parquet(Path(ctx.dataset_dir) / "index.parquet")
    scores = pd.read_parquet(artifacts / "scores" / "test.parquet")
    assert sorted(scores["video_id"]) == sorted(index.loc[index["subset"] == "test", "video_id"])


def test_killed_worker_resumes_from_the_last_checkpoint(ray_local, cache, tmp_path):
    _, ctx, result = run(
        tmp_path, cache, "fault", **{"optim.epochs": 3, "train.fail_at_epoch": 2, "train.max_failures": 1}
    )
    assert result.error is None
    # Epoch 2 died before its checkpoint: it is redone; epoch 1 is not repeated.
    assert progress(ctx) == ["epoch 1 started", "epoch 2 started", "epoch 2 started", "epoch 3 started"]
    tracker = find_run("e2e", "fault", tracking_uri=ctx.tracking_uri)
    assert [s for s, _ in tracker.metric_history("train/loss")] == [1, 2, 3]


def test_rerun_with_the_same_name_resumes_a_failed_run(ray_local, cache, tmp_path):
    overrides = {"optim.epochs": 3, "train.fail_at_epoch": 2, "train.max_failures": 0}
    with pytest.raises(TrainingFailedError):
        run(tmp_path, cache, "rerun", **overrides)
    _, ctx, resumed = run(tmp_path, cache, "rerun", **overrides)  # what `rlx.train --resume` does
    assert resumed.error is None
    assert progress(ctx) == ["epoch 1 started", "epoch 2 started", "epoch 2 started", "epoch 3 started"]
    tracker = find_run("e2e", "rerun", tracking_uri=ctx.tracking_uri)
    assert tracker.client.get_run(tracker.run_id).info.status == "FINISHED"


def test_same_seed_reproduces_the_same_metrics(ray_local, cache, tmp_path):
    one_epoch = {"optim.epochs": 1, "optim.milestones": []}
    _, ctx_a, _ = run(tmp_path, cache, "seed-a", **one_epoch)
    _, ctx_b, _ = run(tmp_path, cache, "seed-b", **one_epoch)
    _, ctx_c, _ = run(tmp_path, cache, "seed-c", **one_epoch, **{"train.seed": 1})

    def history(name: str) -> list[float]:
        return [v for _, v in find_run("e2e", name, ctx_a.tracking_uri).metric_history("train/loss")]

    assert history("seed-a") == history("seed-b")
    assert history("seed-a") != history("seed-c")


def test_a_local_run_gives_the_metrics_of_the_ray_run(ray_local, cache, tmp_path):
    """`python -m rlx.train --local` (fit in this process, in-process decoding) = the Ray Train run, same seed."""
    cfg, ctx, _ = run(tmp_path, cache, "on-ray")
    local_ctx = dataclasses.replace(ctx, name="in-process")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in the Ray worker (0.5 CPUs -> 1 thread): float sums in the same order
    try:
        final = run_local(cfg, local_ctx)
    finally:
        torch.set_num_threads(threads)

    ray_run, local_run = (find_run("e2e", n, ctx.tracking_uri) for n in ("on-ray", "in-process"))
    for key in ("train/loss", "train/top1", "val/loss", "val/top1"):
        assert local_run.metric_history(key) == ray_run.metric_history(key), key
    ray_final = ray_run.client.get_run(ray_run.run_id).data.metrics
    for key in ("test/top1", "test/top5", "test/loss", "test/mean_class_acc"):
        assert final[key] == pytest.approx(ray_final[key], rel=1e-6), key
    assert local_run.client.get_run(local_run.run_id).data.tags["rlx.runner"] == "local"
    assert sorted(p.name for p in local_ctx.run_folder.glob("epoch_*")) == ["epoch_0001", "epoch_0002"]


def write_charades_from_synthetic(root: Path, synthetic: Path) -> None:
    """A Charades-format dataset (csv + classes, <id>.mp4) made of synthetic clips; multi-label by design."""
    (root / "videos").mkdir(parents=True)
    (root / "Charades_v1_classes.txt").write_text("c000 Appearance\nc001 Order\nc002 Interaction\nc003 Circle\n")
    header = "id,subject,scene,quality,relevance,verified,script,objects,descriptions,actions,length\r\n"
    lines = {"train": [header], "test": [header]}
    for i, clip in enumerate(sorted((synthetic / "videos").rglob("*.mp4"))):
        family = clip.parent.name.split("_")[0]
        codes = {"appearance": ["c000"], "order": ["c001"], "interaction": ["c002"]}[family]
        codes += ["c003"] if "circle" in clip.parent.name else []
        video_id = f"V{i:04d}"
        (root / "videos" / f"{video_id}.mp4").symlink_to(clip)
        actions = ";".join(f"{c} 0.00 0.60" for c in codes) if i % 9 else ""  # some videos carry no label
        split = "test" if i % 4 == 0 else "train"
        lines[split].append(f'{video_id},S1,Room,6,7,Yes,"a script, with a comma",obj,desc,{actions},0.64\r\n')
    for split, rows in lines.items():
        (root / f"Charades_v1_{split}.csv").write_text("".join(rows))


def test_charades_multilabel_trains_with_bce_and_reports_map(ray_local, cache, tmp_path):
    synthetic = ensure_benchmark(cache / "synthetic", videos_per_class=4, frames=16, size=64, seed=0)
    write_charades_from_synthetic(tmp_path / "charades", synthetic)
    _, ctx, result = run(
        tmp_path,
        cache,
        "charades",
        **{
            "data.dataset": "charades",
            "data.videos": str(tmp_path / "charades" / "videos"),
            "data.annotations": str(tmp_path / "charades"),
            "optim.epochs": 1,
            "optim.milestones": [],
            "eval.num_clips": 3,
            "eval.clip_length": 8,
            "eval.view_budget": 3,
        },
    )
    tracker = find_run("e2e", "charades", tracking_uri=ctx.tracking_uri)
    metrics = tracker.client.get_run(tracker.run_id).data.metrics
    assert 0.0 < metrics["test/mAP"] <= 1.0 and "val/mAP" in metrics and "test/top1" not in metrics
    # Trained on the annotated actions (one sample each, through Ray Data's columns), tested on 3 clips x 4 groups
    # x 5 crops per video: nothing failed, every test video scored.
    index = pd.read_parquet(Path(ctx.dataset_dir) / "index.parquet").set_index("video_id")
    assert metrics["data/skipped"] == 0 and metrics["data/test_skipped"] == 0
    assert metrics["test/videos"] == (index["subset"] == "test").sum()
    artifacts = Path(tracker.client.get_run(tracker.run_id).info.artifact_uri.removeprefix("file://"))
    scores = pd.read_parquet(artifacts / "scores" / "test.parquet")
    assert list(scores.columns) == ["video_id", "labels", "Appearance", "Order", "Interaction", "Circle"]
    for vid, labels in zip(scores["video_id"], scores["labels"], strict=True):
        assert list(labels) == list(index.at[vid, "labels"])
