"""MLflow tracking: deterministic run keys resume the same run; params are idempotent."""

import pytest

from rlx.tracking import (
    ExperimentNotFound,
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
