"""The MLflow run of a training run: params, system tags, the resolved config; opened in the background."""

from __future__ import annotations

import threading

import yaml

from rlx.config import RunConfig
from rlx.train.context import RunContext
from rlx.train.tracker import BackgroundTracker, open_run_tracker


def test_a_run_records_its_config_and_where_it_ran(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    ctx = RunContext(
        name="r",
        storage=str(tmp_path / "runs"),
        tracking_uri=uri,
        experiment="e",
        dataset_dir="/d",
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
    again = open_run_tracker(cfg, ctx, runner="ray")  # a resumed run continues the same MLflow run
    assert again.run_id == tracker.run_id


def test_background_tracker_opens_once_in_another_thread_and_delegates():
    calls, threads = [], []

    class Fake:
        def log_metrics(self, metrics, step):
            calls.append(("metrics", dict(metrics), step))

        def set_tags(self, tags):
            calls.append(("tags", dict(tags)))

        def finish(self, status="FINISHED"):
            calls.append(("finish", status))

    def opener():
        threads.append(threading.current_thread().name)
        return Fake()

    tracker = BackgroundTracker(opener)
    tracker.log_metrics({"a": 1.0}, step=2)
    tracker.set_tags({"t": "v"})
    tracker.finish()
    assert calls == [("metrics", {"a": 1.0}, 2), ("tags", {"t": "v"}), ("finish", "FINISHED")]
    assert len(threads) == 1 and threads[0].startswith("mlflow")
