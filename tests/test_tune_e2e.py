"""`python -m rlx.tune` end to end on a local Ray: one search, three trials, MLflow parent + children."""
import json
from pathlib import Path

import pytest

from rlx.tracking import find_run

pytestmark = pytest.mark.slow

SHRINK = [
    "data.synthetic_videos_per_class=4", "data.synthetic_frames=16", "data.synthetic_size=64",
    "data.input_size=64", "data.short_side=64", "data.num_segments=4", "optim.epochs=1", "optim.milestones=[]",
    "optim.batch_size=4", "data.loader_cpus=0.25",
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


def test_killed_search_resumes_without_rerunning_finished_trials(tmp_path):
    """Kill the search process after its first trial finished; --resume completes the rest."""
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {**os.environ, "RLX_CACHE": str(tmp_path / "cache"), "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.5"}
    env.pop("MLFLOW_TRACKING_URI", None)
    space = Path(__file__).parent.parent / "tune_spaces" / "smoke.yaml"
    cmd = [sys.executable, "-m", "rlx.tune", "--space", str(space), "--storage", str(tmp_path / "runs")]
    for item in SHRINK:
        cmd += ["--set", item]
    runs = tmp_path / "runs"
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.time() + 300
        while time.time() < deadline:  # wait for the first trial's final checkpoint and its test scores
            done = [p for p in runs.glob("smoke-*-*/progress.log")]
            if done and list(runs.glob("smoke-*-*/epoch_0001")) and _finished_children(tmp_path) >= 1:
                break
            time.sleep(1)
        else:
            pytest.fail("the first trial did not finish in time")
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and everything it started
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        subprocess.run([sys.executable, "-m", "ray.scripts.scripts", "stop", "--force"], capture_output=True)
    finished_before = _finished_children(tmp_path)

    resumed = subprocess.run(cmd + ["--resume"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    subprocess.run([sys.executable, "-m", "ray.scripts.scripts", "stop", "--force"], capture_output=True)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]

    parent = find_run("smoke", "search-smoke", f"sqlite:///{tmp_path / 'mlruns.db'}")
    children = parent.client.search_runs([parent.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent.run_id}'")
    assert sorted(r.data.params["model.arch"] for r in children) == ["local", "nonlocal", "two_branch"]  # none duplicated
    logs = {p.parent.name: p.read_text().splitlines() for p in runs.glob("smoke-*-*/progress.log")}
    assert len(logs) == 3
    # Trials that had finished before the kill were not run again.
    assert finished_before >= 1
    assert sum(lines == ["epoch 1 started"] for lines in logs.values()) >= finished_before


def _finished_children(tmp_path) -> int:
    db = tmp_path / "mlruns.db"
    if not db.exists():
        return 0
    try:
        parent = find_run("smoke", "search-smoke", f"sqlite:///{db}")
        if parent is None:
            return 0
        runs = parent.client.search_runs([parent.experiment_id], filter_string="attributes.status = 'FINISHED'")
        return sum(1 for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.run_id)
    except Exception:  # the store is being written: try again later
        return 0
