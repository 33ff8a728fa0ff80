"""End to end: the synthetic benchmark's videos as a `folder`-format dataset, indexed by `python -m rlx.data index`,
trained on a class subset by `python -m rlx.train --local`; the subset's mapping reaches the prepared folder and
the MLflow run."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from rlx.data.__main__ import main as data_main
from rlx.data.synthetic import ensure_benchmark
from rlx.tracking import find_run
from rlx.train.__main__ import main as train_main

pytestmark = pytest.mark.slow

TINY = {
    "data.dataset": "custom",
    "data.multilabel": False,
    "data.classes": ["order_right_to_left", "appearance_red_square"],
    "data.input_size": 64,
    "data.short_side": 64,
    "data.num_segments": 4,
    "data.val_fraction": 0.34,
    "model.arch": "two_branch",
    "model.backbone": "resnetv2_small",
    "model.bn_mode": "batch",
    "optim.epochs": 1,
    "optim.milestones": [],
    "optim.batch_size": 4,
    "eval.num_groups": 2,
    "eval.num_crops": 1,
}


def test_a_class_subset_of_a_folder_dataset_trains_locally(tmp_path: Path, monkeypatch, capsys) -> None:
    bench = ensure_benchmark(tmp_path / "bench", videos_per_class=4, frames=16, size=64, seed=0)
    index = tmp_path / "index.parquet"
    args = ["index", "--format", "folder", "--videos", str(bench / "videos"), "--test-fraction", "0.25"]
    assert data_main([*args, "--out", str(index)]) == 0
    assert "folder: 44 videos (train 33, test 11), 11 classes" in capsys.readouterr().out

    config = tmp_path / "subset.yaml"
    flat = {**TINY, "data.index": str(index), "data.videos": str(bench / "videos"), "data.cache_dir": str(tmp_path)}
    config.write_text(yaml.safe_dump(flat))
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    code = train_main(["--config", str(config), "--local", "--storage", str(tmp_path / "runs"), "--name", "sub"])
    assert code == 0, capsys.readouterr().err

    run = find_run("rlx-train", "sub", tracking_uri=uri)
    mlrun = run.client.get_run(run.run_id)
    params = mlrun.data.params
    assert params["data.dataset"] == "custom" and params["data.multilabel"] == "False"
    assert params["data.classes"] == "['order_right_to_left', 'appearance_red_square']"
    artifacts = Path(mlrun.info.artifact_uri.removeprefix("file://"))
    # new ids in the classes' original (sorted folder) order, whatever order data.classes lists them in
    assert json.loads((artifacts / "data" / "class_map.json").read_text()) == [
        {"id": 0, "source_id": 2, "name": "appearance_red_square"},
        {"id": 1, "source_id": 9, "name": "order_right_to_left"},
    ]
    scores = pd.read_parquet(artifacts / "scores" / "test.parquet")
    assert list(scores.columns) == ["video_id", "label", "appearance_red_square", "order_right_to_left"]
    assert sorted(scores["label"]) == [0, 1]  # one test video per class (round(0.25 x 4) = 1)
    assert {v.split("__")[0] for v in scores["video_id"]} == {"appearance_red_square", "order_right_to_left"}
    (entry,) = mlrun.inputs.dataset_inputs
    assert json.loads(entry.dataset.profile)["classes"] == ["appearance_red_square", "order_right_to_left"]
