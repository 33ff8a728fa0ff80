"""The MLflow run of a training run: params, system tags, the resolved config; opened in the background."""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from rlx.config import DataConfig, RunConfig
from rlx.train.context import RunContext
from rlx.train.tracker import describe_prepared, open_run_tracker


@pytest.fixture
def prepared(tmp_path):
    """A prepared dataset folder as rlx.train.prepare leaves it: 3 train, 1 val, 2 test videos of 2 classes."""
    folder = tmp_path / "prepared"
    folder.mkdir()
    table = pa.table(
        {
            "video_id": ["a", "b", "c", "d", "e", "f"],
            "label": pa.array([0, 1, 0, 1, 0, 1], pa.int32()),
            "num_frames": pa.array([40, 40, 41, 40, 39, 40], pa.int32()),
            "fps": pa.array([25.0] * 6, pa.float32()),
            "labels": pa.array([[0], [1], [0], [1], [0], [1]], pa.list_(pa.int32())),
            "subset": ["train", "train", "val", "test", "train", "test"],
        }
    )
    pq.write_table(table, folder / "index.parquet")
    (folder / "classes.txt").write_text("ApplyEyeMakeup\nApplyLipstick\n")
    (folder / "source.json").write_text(json.dumps({"root": "/videos", "layout": "video", "dataset": "ucf101"}))
    (folder / "excluded.csv").write_text(EXCLUDED)
    (folder / "class_map.json").write_text(json.dumps(CLASS_MAP))
    return folder


CLASS_MAP = [{"id": 0, "source_id": 0, "name": "ApplyEyeMakeup"}, {"id": 1, "source_id": 1, "name": "ApplyLipstick"}]
EXCLUDED = "video_id,subset,status,path,reason\nf,test,missing,/videos/f.avi,no such file or rawframes folder\n"


def test_a_prepared_dataset_is_named_digested_and_profiled(prepared):
    described = describe_prepared(prepared, DataConfig(dataset="ucf101", split=2, modality="flow"))
    assert described.name == "ucf101-split2-flow" and described.source == str(prepared)
    assert described.digest == hashlib.sha256((prepared / "index.parquet").read_bytes()).hexdigest()[:16]
    assert described.profile == {
        "dataset": "ucf101",
        "split": 2,
        "modality": "flow",
        "videos": 6,
        "subsets": {"train": 3, "val": 1, "test": 2},
        "num_classes": 2,
        "classes_sha256": hashlib.sha256(b"ApplyEyeMakeup\nApplyLipstick").hexdigest()[:16],
        "classes": ["ApplyEyeMakeup", "ApplyLipstick"],
        "frames_root": "/videos",
    }
    assert described.columns == (
        ("video_id", "string"),
        ("label", "integer"),
        ("num_frames", "integer"),
        ("fps", "float"),
        ("labels", "list<element: int32>"),
        ("subset", "string"),
    )
    assert describe_prepared(prepared, DataConfig(dataset="synthetic")).name == "synthetic-split1"


def test_a_run_records_its_config_and_where_it_ran(tmp_path, prepared):
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    ctx = RunContext(
        name="r",
        storage=str(tmp_path / "runs"),
        tracking_uri=uri,
        experiment="e",
        dataset_dir=str(prepared),
        command="python -m rlx.train --config x.yaml",
    )
    cfg = RunConfig.from_flat({"model.arch": "tsn", "train.num_workers": 4})
    tracker = open_run_tracker(cfg, ctx, runner="local")
    run = tracker.client.get_run(tracker.run_id)
    assert run.data.params["model.arch"] == "tsn" and run.data.params["optim.milestones"] == "[35, 45]"
    tags = run.data.tags
    assert tags["rlx.kind"] == "run" and tags["rlx.runner"] == "local" and tags["rlx.num_workers"] == "1"
    assert tags["rlx.command"] == ctx.command and tags["rlx.storage"] == str(tmp_path / "runs" / "r")
    assert "rlx.group" not in tags  # only trials of a search belong to a group
    resolved = tracker.client.download_artifacts(tracker.run_id, "config/resolved.yaml", str(tmp_path))
    assert yaml.safe_load(open(resolved))["train.num_workers"] == 4
    class_map = tracker.client.download_artifacts(tracker.run_id, "data/class_map.json", str(tmp_path))
    assert json.loads(open(class_map).read()) == CLASS_MAP  # new class id -> source id and name
    again = open_run_tracker(cfg, ctx, runner="ray")  # a resumed run continues the same MLflow run
    assert again.run_id == tracker.run_id
    (entry,) = again.client.get_run(again.run_id).inputs.dataset_inputs  # its dataset logged once
    assert entry.dataset.name == "synthetic-split1"  # the config's dataset (the default)
    assert entry.dataset.digest == describe_prepared(prepared, cfg.data).digest
    assert json.loads(entry.dataset.profile)["subsets"] == {"train": 3, "val": 1, "test": 2}
    # What the dataset leaves out, on every run: counts per subset and the list.
    metrics = again.client.get_run(again.run_id).data.metrics
    assert {k: v for k, v in metrics.items() if k.startswith("data/excluded/")} == {
        "data/excluded/train": 0,
        "data/excluded/val": 0,
        "data/excluded/test": 1,
    }
    logged = again.client.download_artifacts(again.run_id, "data/excluded.csv", str(tmp_path / "dl"))
    assert open(logged).read() == EXCLUDED
