"""MLflow tracking: deterministic run keys resume the same run; params are idempotent."""

import json
import time

import pytest

from rlx import tracking
from rlx.tracking import (
    ExperimentNotFound,
    SystemMetrics,
    default_tracking_uri,
    experiment_runs,
    list_artifacts,
    metric_history,
    open_run,
)


@pytest.fixture
def uri(tmp_path):
    return f"sqlite:///{tmp_path / 'mlruns.db'}"


def test_same_run_key_reopens_the_same_run(uri, tmp_path):
    first = open_run("exp", "trial_00001", tracking_uri=uri, tags={"rlx.kind": "trial"})
    first.log_params({"model.arch": "two_branch", "optim.lr": 0.0005})
    first.log_metrics({"train/loss": 1.5, "val/top1": 0.25}, step=0)
    first.finish("FAILED")  # e.g. the worker group died
    again = open_run("exp", "trial_00001", tracking_uri=uri)
    assert again.run_id == first.run_id
    again.log_params({"model.arch": "two_branch"})  # idempotent on resume
    again.log_metrics({"val/top1": 0.5}, step=1)
    assert again.metric_history("val/top1") == [(0, 0.25), (1, 0.5)]
    run = again.client.get_run(again.run_id)
    assert run.info.status == "RUNNING" and run.data.tags["rlx.kind"] == "trial"
    other = open_run("exp", "trial_00002", tracking_uri=uri, parent_run_id=first.run_id)
    assert other.run_id != first.run_id
    assert other.client.get_run(other.run_id).data.tags["mlflow.parentRunId"] == first.run_id


def test_changed_param_on_resume_is_an_error(uri):
    run = open_run("exp", "k", tracking_uri=uri)
    run.log_params({"model.dropout": 0.8})
    with pytest.raises(ValueError, match="already has model.dropout='0.8', not '0.5'"):
        run.log_params({"model.dropout": 0.5})


def test_artifacts_land_in_an_absolute_folder_beside_the_store(uri, tmp_path, monkeypatch):
    run = open_run("exp", "k", tracking_uri=uri)
    (tmp_path / "cfg.yaml").write_text("model.arch: tsn\n")
    monkeypatch.chdir(tmp_path / "..")  # workers chdir: the artifact root must not depend on cwd
    run.log_artifact(tmp_path / "cfg.yaml", "config")
    assert (tmp_path / "mlartifacts").is_dir()
    assert list((tmp_path / "mlartifacts").rglob("cfg.yaml"))


def test_default_uri_is_sqlite_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert default_tracking_uri(tmp_path) == f"sqlite:///{tmp_path.resolve() / 'mlruns.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert default_tracking_uri(tmp_path) == "http://127.0.0.1:5000"


def test_experiment_runs_history_and_artifacts_read_back(uri, tmp_path):
    a = open_run("exp", "a", tracking_uri=uri, tags={"rlx.kind": "trial"})
    a.log_params({"model.arch": "tsn"})
    a.log_metrics({"val/top1": 0.25}, step=1)
    a.log_metrics({"val/top1": 0.5}, step=2)
    a.log_metrics({"val/top1": 0.75}, step=2)  # a resumed run re-logs a step: the later value wins
    (tmp_path / "test.parquet").write_bytes(b"x")
    a.log_artifact(tmp_path / "test.parquet", "scores")
    a.log_text("t", "config/resolved.yaml")
    a.finish()
    b = open_run("exp", "b", tracking_uri=uri)
    runs = experiment_runs("exp", uri)
    assert [r.run_id for r in runs] == sorted([a.run_id, b.run_id])
    got = next(r for r in runs if r.run_id == a.run_id)
    assert (got.status, got.params, got.metrics["val/top1"], got.tags["rlx.kind"]) == (
        "FINISHED",
        {"model.arch": "tsn"},
        0.75,
        "trial",
    )
    assert metric_history(a.run_id, "val/top1", uri) == [(1, 0.25), (2, 0.75)]
    assert list_artifacts(a.run_id, tracking_uri=uri) == ["config/resolved.yaml", "scores/test.parquet"]
    assert list_artifacts(a.run_id, "scores", uri) == ["scores/test.parquet"]
    with pytest.raises(ExperimentNotFound, match="experiment 'nope' not found .*experiments there: .*exp"):
        experiment_runs("nope", uri)


def test_a_dataset_input_is_logged_once_with_its_name_digest_profile_and_schema(uri, tmp_path):
    run = open_run("exp", "k", tracking_uri=uri)
    profile = {"split": 1, "subsets": {"train": 3, "val": 1, "test": 2}, "classes": ["a", "b"]}
    columns = (("video_id", "string"), ("label", "integer"))
    run.log_dataset("ucf101-split1", "0123456789abcdef", tmp_path / "prepared", profile, columns)
    again = open_run("exp", "k", tracking_uri=uri)  # a resumed run logs it again: still one input
    again.log_dataset("ucf101-split1", "0123456789abcdef", tmp_path / "prepared", profile, columns)
    (entry,) = again.client.get_run(run.run_id).inputs.dataset_inputs
    dataset = entry.dataset
    assert (dataset.name, dataset.digest, dataset.source_type) == ("ucf101-split1", "0123456789abcdef", "local")
    assert json.loads(dataset.source) == {"uri": str(tmp_path / "prepared")}
    assert json.loads(dataset.profile) == profile
    assert json.loads(dataset.schema) == {
        "mlflow_colspec": [{"type": "string", "name": "video_id"}, {"type": "integer", "name": "label"}]
    }
    assert [(t.key, t.value) for t in entry.tags] == [("mlflow.data.context", "train")]


def _wait_for(condition, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


@pytest.fixture
def fast_polls(monkeypatch):
    monkeypatch.setattr(tracking, "RUN_POLL_S", 0.05)
    for name in ("SAMPLING_INTERVAL", "SAMPLES_BEFORE_LOGGING", "NODE_ID"):  # MLflow's overrides
        monkeypatch.delenv(f"MLFLOW_SYSTEM_METRICS_{name}", raising=False)


def test_system_metrics_wait_for_the_run_then_log_under_the_node_prefix(uri, fast_polls):
    open_run("exp", "other", tracking_uri=uri)  # the store exists; the run does not yet
    system = SystemMetrics("exp", "k", node_id="rank_1", tracking_uri=uri, interval_s=0.2)
    assert not _wait_for(lambda: system.monitor is not None, timeout_s=0.3)  # no run yet: nothing started
    run = open_run("exp", "k", tracking_uri=uri)  # what rank 0 does in the background
    cpu = "system/rank_1/cpu_utilization_percentage"
    assert _wait_for(lambda: cpu in run.client.get_run(run.run_id).data.metrics)
    system.stop()
    metrics = run.client.get_run(run.run_id).data.metrics
    assert all(key.startswith("system/rank_1/") for key in metrics), sorted(metrics)
    assert 0.0 <= metrics[cpu] <= 100.0 and metrics["system/rank_1/system_memory_usage_megabytes"] > 0
    steps = [step for step, _ in run.metric_history(cpu)]
    assert steps == list(range(len(steps)))  # one step per sample, from 0
    time.sleep(0.4)  # stopped: no more samples
    assert [step for step, _ in run.metric_history(cpu)] == steps
    system.stop()  # idempotent


def test_system_metrics_stopped_before_their_run_appears_start_nothing(uri, fast_polls):
    system = SystemMetrics("exp", "never", node_id="rank_0", tracking_uri=uri, interval_s=0.2)
    time.sleep(0.1)
    system.stop()
    open_run("exp", "never", tracking_uri=uri)
    time.sleep(0.2)
    assert system.monitor is None


def test_prepare_store_creates_the_store_and_experiment_once(uri, tmp_path):
    # The launcher creates a new SQLite store before workers start (concurrent schema migrations fail).
    assert not (tmp_path / "mlruns.db").exists()
    first = tracking.prepare_store("exp", uri)
    assert (tmp_path / "mlruns.db").is_file()
    assert tracking.prepare_store("exp", uri) == first == tracking.experiment_id("exp", uri)
