"""`python -m rlx.tune` end to end on a local Ray: one search, three trials, MLflow parent + children."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import ray
import yaml

from rlx.data.__main__ import main as data_main
from rlx.eval.scores import read_scores, score_matrix
from rlx.tracking import child_runs, download_artifact, find_run, list_artifacts
from rlx.tune.__main__ import main

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

SHRINK = [
    "data.synthetic_videos_per_class=4",
    "data.synthetic_frames=16",
    "data.synthetic_size=64",
    "data.input_size=64",
    "data.short_side=64",
    "data.num_segments=4",
    "optim.epochs=1",
    "optim.milestones=[]",
    "optim.batch_size=4",
    "data.loader_cpus=0.25",
]


def test_smoke_search_runs_every_trial_under_one_parent_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RLX_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    os.environ["RAY_TRAIN_HEALTH_CHECK_INTERVAL_S"] = "0.5"
    space = REPO / "tune_spaces" / "smoke.yaml"
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
    children = client.search_runs(
        [parent.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent.run_id}'"
    )
    assert sorted(r.data.params["model.arch"] for r in children) == ["local", "nonlocal", "two_branch"]
    assert all("test/top1" in r.data.metrics and r.info.status == "FINISHED" for r in children)
    artifacts = Path(client.get_run(parent.run_id).info.artifact_uri.removeprefix("file://"))
    summary = json.loads((artifacts / "summary.json").read_text())
    assert summary["fusion"] == []  # one stream only
    assert summary["groups"][0]["trials"] == 3 and summary["groups"][0]["best"]["model.arch"] in (
        "local",
        "nonlocal",
        "two_branch",
    )
    assert (artifacts / "space" / "smoke.yaml").is_file() and (artifacts / "plan.txt").is_file()


def test_invalid_override_fails_before_ray(capsys):
    space = REPO / "tune_spaces" / "smoke.yaml"
    assert main(["--space", str(space), "--set", "model.arch=tsn"]) == 2
    assert "only fixed keys can be set" in capsys.readouterr().err
    assert main(["--space", str(space), "--set", "optim.epochs=0"]) == 2
    assert "optim.epochs: 0 must be >= 1" in capsys.readouterr().err


def test_killed_search_resumes_without_rerunning_finished_trials(tmp_path):
    """Kill the search process after its first trial finished; --resume completes the rest."""

    env = {**os.environ, "RLX_CACHE": str(tmp_path / "cache"), "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.5"}
    env.pop("MLFLOW_TRACKING_URI", None)
    space = REPO / "tune_spaces" / "smoke.yaml"
    cmd = [sys.executable, "-m", "rlx.tune", "--space", str(space), "--storage", str(tmp_path / "runs")]
    for item in SHRINK:
        cmd += ["--set", item]
    runs = tmp_path / "runs"
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
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
    children = parent.client.search_runs(
        [parent.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent.run_id}'"
    )
    assert sorted(r.data.params["model.arch"] for r in children) == [
        "local",
        "nonlocal",
        "two_branch",
    ]  # none duplicated
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


def test_two_stream_search_fuses_rgb_and_flow_trials_on_validation(tmp_path, monkeypatch):
    """RGB videos and their extracted flow as two streams of one search, the flow trial started from the RGB
    trial (seed paper §5.2: spatial -> temporal via model.init_from); the fusion stage pairs them."""

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RLX_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    os.environ["RAY_TRAIN_HEALTH_CHECK_INTERVAL_S"] = "0.5"
    synth, flow = tmp_path / "synth", tmp_path / "flow"
    assert data_main(["synth", "--out", str(synth), "--videos-per-class", "4", "--frames", "16", "--size", "48"]) == 0
    assert (
        data_main(
            [
                "index",
                "--dataset",
                "ucf101",
                "--annotations",
                str(synth / "annotations"),
                "--videos",
                str(synth / "videos"),
                "--out",
                str(synth / "index.parquet"),
            ]
        )
        == 0
    )
    assert (
        data_main(
            [
                "flow",
                "--index",
                str(synth / "index.parquet"),
                "--videos",
                str(synth / "videos"),
                "--out",
                str(flow),
                "--algorithm",
                "farneback",
                "--no-ray",
                "--workers",
                "2",
            ]
        )
        == 0
    )
    common = {
        "data.dataset": "ucf101",
        "data.annotations": str(synth / "annotations"),
        "data.num_segments": 2,
        "data.input_size": 48,
        "data.short_side": 48,
        "data.flip": False,
        "data.loader_cpus": 0.25,
        "model.arch": "tsn",
        "model.backbone": "resnetv2_small",
        "optim.epochs": 1,
        "optim.milestones": [],
        "optim.batch_size": 4,
        "eval.num_groups": 1,
        "eval.num_crops": 1,
    }
    space = {
        "name": "twostream",
        "description": "RGB and flow of the synthetic benchmark, fused",
        "fixed": common,
        "axes": {
            "stream": [
                {"name": "rgb", "data.modality": "rgb", "data.videos": str(synth / "videos")},
                {
                    "name": "flow",
                    "data.modality": "flow",
                    "data.new_length": 5,
                    "data.videos": str(flow),
                    "model.init_from": "group:stream=rgb",
                },
            ]
        },
        "search": {"train.seed": {"grid": [0], "role": "nuisance"}},
        "fusion": {"step": 0.1},
        "refit": True,
        "resources": {"workers_per_trial": 1, "gpus_per_worker": 0, "cpus_per_worker": 1},
    }
    (tmp_path / "space.yaml").write_text(yaml.safe_dump(space, sort_keys=False))
    try:
        assert main(["--space", str(tmp_path / "space.yaml"), "--storage", str(tmp_path / "runs")]) == 0
    finally:
        ray.shutdown()

    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    parent = find_run("twostream", "search-twostream", uri)
    trials = {
        r.tags["rlx.group"]: r
        for r in child_runs("twostream", parent.run_id, tag_filter={"rlx.kind": "trial"}, tracking_uri=uri)
    }
    assert set(trials) == {"stream=rgb", "stream=flow"}
    # The flow trial started from the RGB trial of the same searched values: whole network, stem averaged.
    rgb, flow_run = trials["stream=rgb"], trials["stream=flow"]
    assert flow_run.params["model.init_from"] == rgb.tags["rlx.checkpoint"]
    assert flow_run.tags["rlx.init_from_trial"] == f"group stream=rgb, run {rgb.run_id} (same searched values)"
    account = download_artifact(flow_run.run_id, "init_from.txt", tmp_path / "init", uri).read_text().splitlines()
    assert [line for line in account if line.startswith("adapted\t")] == ["adapted\tbackbone.stem.conv.weight"]
    assert not [line for line in account if line.startswith(("new\t", "unused\t"))]
    (fusion,) = child_runs("twostream", parent.run_id, tag_filter={"rlx.kind": "fusion"}, tracking_uri=uri)
    assert fusion.tags["rlx.fusion.rgb_run"] == trials["stream=rgb"].run_id
    assert fusion.tags["rlx.fusion.flow_run"] == trials["stream=flow"].run_id
    assert fusion.tags["rlx.group"] == "" and fusion.params["data.modality"] == "two_stream"

    # Recompute the fused test top-1 at the reported weight from the two trials' stored scores.
    tables = {}
    for stream, run in trials.items():
        frame, classes = read_scores(download_artifact(run.run_id, "scores/test.parquet", tmp_path / stream, uri))
        tables[stream] = frame.sort_values("video_id")
    w = fusion.metrics["fusion/weight_rgb"]
    assert w in np.round(np.arange(0, 1.01, 0.1), 6)
    fused = w * score_matrix(tables["stream=rgb"], classes) + (1 - w) * score_matrix(tables["stream=flow"], classes)
    expected = float(np.mean(fused.argmax(1) == tables["stream=rgb"]["label"].to_numpy()))
    assert fusion.metrics["test/top1"] == pytest.approx(expected, abs=1e-6)
    assert fusion.metrics["test/top1_at_test_optimal_weight"] >= fusion.metrics["test/top1"]
    artifacts = Path(parent.client.get_run(parent.run_id).info.artifact_uri.removeprefix("file://"))
    summary = json.loads((artifacts / "summary.json").read_text())
    assert summary["fusion"][0]["fusion/weight_rgb"] == w and summary["fusion"][0]["pairing"] == "equal-config"

    # refit: true — each group's selected trial again on the whole training split, flow from the RGB refit,
    # fused at the weight chosen on validation in the selection stage.
    refits = {
        r.tags["rlx.group"]: r
        for r in child_runs("twostream", parent.run_id, tag_filter={"rlx.kind": "refit"}, tracking_uri=uri)
    }
    assert set(refits) == {"stream=rgb", "stream=flow"}
    for stream, run in refits.items():
        assert run.status == "FINISHED" and run.tags["rlx.refit_of"] == trials[stream].run_id
        assert run.params["data.val_fraction"] == "0.0" and "val/top1" not in run.metrics
        assert list_artifacts(run.run_id, "scores", uri) == ["scores/test.parquet"]  # no hold-out left
    assert refits["stream=flow"].params["model.init_from"] == refits["stream=rgb"].tags["rlx.checkpoint"]
    assert refits["stream=rgb"].run_id in refits["stream=flow"].tags["rlx.init_from_trial"]
    (refit_fusion,) = child_runs("twostream", parent.run_id, tag_filter={"rlx.kind": "fusion_refit"}, tracking_uri=uri)
    assert refit_fusion.metrics["fusion/weight_rgb"] == w
    refit_tables = {}
    for stream, run in refits.items():
        path = download_artifact(run.run_id, "scores/test.parquet", tmp_path / "refit" / stream, uri)
        refit_tables[stream] = read_scores(path)[0].sort_values("video_id")
    fused = w * score_matrix(refit_tables["stream=rgb"], classes) + (1 - w) * score_matrix(
        refit_tables["stream=flow"], classes
    )
    expected = float(np.mean(fused.argmax(1) == refit_tables["stream=rgb"]["label"].to_numpy()))
    assert refit_fusion.metrics["test/top1"] == pytest.approx(expected, abs=1e-6)
    assert [r["group"] for r in summary["refit"]] == ["stream=rgb", "stream=flow"] and len(summary["fusion_refit"]) == 1
