"""`python -m rlx.tune` end to end on a local Ray: one search, three trials, MLflow parent + children."""
import json
from pathlib import Path

import pytest

from rlx.tracking import find_run

pytestmark = pytest.mark.slow

SHRINK = [
    "data.synthetic_videos_per_class=4", "data.synthetic_frames=16", "data.synthetic_size=64",
    "data.input_size=64", "data.short_side=64", "data.num_segments=4", "optim.epochs=1", "optim.milestones=[]",
    "optim.batch_size=4", "train.cpus_per_worker=0.5", "data.loader_cpus=0.25",
]


def test_smoke_search_runs_every_trial_under_one_parent_run(tmp_path, monkeypatch):
    import os

    import ray

    from rlx.tune.__main__ import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RLX_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    os.environ["RAY_TRAIN_HEALTH_CHECK_INTERVAL_S"] = "0.5"
    space = Path(__file__).parent.parent / "tune_spaces" / "smoke.yaml"
    args = ["--space", str(space), "--storage", str(tmp_path / "runs")]
    for item in SHRINK:
        args += ["--set", item]
    try:
        assert main(args) == 0
    finally:
        ray.shutdown()

    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    parent = find_run("smoke", "search-smoke", uri)
    assert parent is not None
    client = parent.client
    assert client.get_run(parent.run_id).info.status == "FINISHED"
    children = client.search_runs([parent.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent.run_id}'")
    assert sorted(r.data.params["model.arch"] for r in children) == ["local", "nonlocal", "two_branch"]
    assert all("test/top1" in r.data.metrics and r.info.status == "FINISHED" for r in children)
    artifacts = Path(client.get_run(parent.run_id).info.artifact_uri.removeprefix("file://"))
    summary = json.loads((artifacts / "summary.json").read_text())
    assert summary[0]["trials"] == 3 and summary[0]["best"]["model.arch"] in ("local", "nonlocal", "two_branch")
    assert (artifacts / "space" / "smoke.yaml").is_file() and (artifacts / "plan.txt").is_file()


def test_invalid_override_fails_before_ray(capsys):
    from rlx.tune.__main__ import main

    space = Path(__file__).parent.parent / "tune_spaces" / "smoke.yaml"
    assert main(["--space", str(space), "--set", "model.arch=tsn"]) == 2
    assert "only fixed keys can be set" in capsys.readouterr().err
    assert main(["--space", str(space), "--set", "optim.epochs=0"]) == 2
    assert "optim.epochs: 0 must be >= 1" in capsys.readouterr().err
