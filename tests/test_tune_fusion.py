"""The fusion stage of a search: pairing groups and trials, fusing stored scores into MLflow runs."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from rlx.eval.scores import read_scores, write_scores
from rlx.tracking import RunRecord, child_runs, download_artifact, open_run, run_record
from rlx.tune.fusion import FusionContext, FusionJob, fuse_pair, pair_trials, plan_jobs, stream_pairs
from rlx.tune.space import load_space

REPO = Path(__file__).resolve().parents[1]


def _space(tmp_path, **body):
    raw = {
        "name": "fuse",
        "description": "test",
        "fixed": {"data.dataset": "synthetic"},
        "fusion": {"step": 0.25},
        **body,
    }
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return load_space(path, check_data=False)


def test_plain_modality_axis_pairs_each_split(tmp_path):
    space = _space(tmp_path, axes={"data.split": [1, 2], "data.modality": ["rgb", "flow"]})
    pairs = stream_pairs(space)
    assert [(p.rgb.key, p.flow.key, p.key) for p in pairs] == [
        ("data.split=1,data.modality=rgb", "data.split=1,data.modality=flow", "data.split=1"),
        ("data.split=2,data.modality=rgb", "data.split=2,data.modality=flow", "data.split=2"),
    ]


def test_bundled_streams_pair_only_within_a_cell():
    # paper-ucf101.yaml: stream bundles carry the frames, per-stream dropout/schedule and init_from; cells the rest.
    space = load_space(REPO / "tune_spaces" / "paper-ucf101.yaml", check_data=False, cluster={"CPU": 64, "GPU": 8})
    pairs = stream_pairs(space)
    assert len(pairs) == 13  # one per table cell
    for p in pairs:
        for key in ("data.split", "data.num_segments", "model.arch", "model.insert_after"):
            assert p.rgb.flat[key] == p.flow.flat[key]
        assert (p.rgb.flat["data.modality"], p.flow.flat["data.modality"]) == ("rgb", "flow")
        assert "stream=" not in p.key and p.key.startswith("cell=")


def test_no_pairs_without_both_streams_or_with_other_differences(tmp_path):
    assert stream_pairs(_space(tmp_path, axes={"data.modality": ["rgb"]})) == []
    # streams that also differ in T are different experiments: not fused
    space = _space(
        tmp_path,
        axes={
            "stream": [
                {"name": "a", "data.modality": "rgb", "data.num_segments": 8},
                {"name": "b", "data.modality": "flow", "data.num_segments": 6},
            ]
        },
    )
    assert stream_pairs(space) == []


def _rec(run_id, metric, **params):
    return RunRecord(run_id, "FINISHED", {}, {k: str(v) for k, v in params.items()}, {"val/top1": metric})


def test_pair_trials_matches_searched_values_and_takes_best_seed():
    rgb = [
        _rec("r6a", 0.5, **{"data.num_segments": 6, "train.seed": 0}),
        _rec("r6b", 0.7, **{"data.num_segments": 6, "train.seed": 1}),
        _rec("r8", 0.6, **{"data.num_segments": 8, "train.seed": 0}),
    ]
    flow = [
        _rec("f6", 0.4, **{"data.num_segments": 6, "train.seed": 0}),
        _rec("f8", 0.9, **{"data.num_segments": 8, "train.seed": 0}),
        _rec("f10", 0.9, **{"data.num_segments": 10, "train.seed": 0}),
    ]
    pairs = pair_trials(rgb, flow, ["data.num_segments", "train.seed"], "val/top1", "max")
    # seeds are searched too, so (T=6, seed 1) has no flow partner: pairs are exact
    assert [(a.run_id, b.run_id, how) for a, b, how in pairs] == [
        ("r6a", "f6", "equal-config"),
        ("r8", "f8", "equal-config"),
    ]
    # a stream key (dropout, searched with different values per stream) does not prevent pairing
    rgb = [_rec("r", 0.5, **{"model.dropout": 0.8})]
    flow = [_rec("f", 0.5, **{"model.dropout": 0.7})]
    assert [(a.run_id, b.run_id) for a, b, _ in pair_trials(rgb, flow, ["model.dropout"], "val/top1", "max")] == [
        ("r", "f")
    ]


def test_pair_trials_falls_back_to_best_per_stream():
    rgb = [_rec("r1", 0.5, **{"data.num_segments": 6}), _rec("r2", 0.8, **{"data.num_segments": 7})]
    flow = [_rec("f1", 0.3, **{"data.num_segments": 9}), _rec("f2", 0.2, **{"data.num_segments": 11})]
    pairs = pair_trials(rgb, flow, ["data.num_segments"], "val/top1", "max")
    assert [(a.run_id, b.run_id, how) for a, b, how in pairs] == [("r2", "f1", "best-per-stream")]
    assert pair_trials(rgb, flow, ["data.num_segments"], "val/top1", "min")[0][:2] == (rgb[0], flow[1])
    assert pair_trials(rgb, [], ["data.num_segments"], "val/top1", "max") == []


CLASSES = ["a", "b", "c"]


def _trial(uri, parent, group, stream, val_scores, test_scores, tmp_path):
    """A finished trial run with stored scores, as rlx.train writes it."""
    tracker = open_run(
        "fuse",
        f"trial-{stream}",
        parent_run_id=parent,
        tracking_uri=uri,
        tags={"rlx.kind": "trial", "rlx.group": group, "rlx.dataset": "synthetic"},
    )
    tracker.log_params({"data.modality": stream, "model.arch": "two_branch", "data.num_segments": 8})
    tracker.log_metrics({"val/top1": 0.5}, step=1)
    tracker.log_metrics({"data/excluded/test": 1 if stream == "rgb" else 0}, step=0)  # as rlx.train.tracker logs it
    folder = tmp_path / stream
    labels = {"val": np.array([0, 1, 2, 0]), "test": np.array([0, 1, 2, 2])}
    for subset, scores in (("val", val_scores), ("test", test_scores)):
        ids = [f"{subset}{i}" for i in range(4)]
        if stream == "flow":  # stored in another order: fusion must align by video id
            order = [3, 1, 0, 2]
            ids, scores, lab = [ids[i] for i in order], np.asarray(scores)[order], labels[subset][order]
        else:
            lab = labels[subset]
        tracker.log_artifact(
            write_scores(folder / f"{subset}.parquet", ids, np.asarray(scores, np.float32), lab, CLASSES), "scores"
        )
    tracker.finish("FINISHED")
    return tracker.run_id


def test_fuse_pair_writes_a_linked_mlflow_run_with_val_chosen_weight(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    parent = open_run("fuse", "search-fuse", tracking_uri=uri, tags={"rlx.kind": "search"}).run_id
    eye = np.eye(3)
    # RGB gets val videos 0, 1 right and 2, 3 wrong; flow gets 2, 3 right and 0, 1 wrong, each with margin 1.
    val_rgb = [eye[0], eye[1], eye[0], eye[1]]
    val_flow = [eye[1], eye[0], eye[2], eye[0]]
    # At w = 0.5 the fused scores tie on videos 0-3 between the two streams' picks; argmax takes the lower
    # class id. Test: RGB right on 0-2, flow right on 3 only.
    test_rgb = [eye[0], eye[1], eye[2], eye[0]]
    test_flow = [eye[1], eye[2], eye[0], eye[2]]
    rgb = _trial(uri, parent, "data.modality=rgb", "rgb", val_rgb, test_rgb, tmp_path)
    flow = _trial(uri, parent, "data.modality=flow", "flow", val_flow, test_flow, tmp_path)
    space = _space(tmp_path, axes={"data.modality": ["rgb", "flow"]}, name="fuse")
    jobs = plan_jobs(space, parent, uri)
    assert jobs == [FusionJob("", rgb, flow, "equal-config")]

    ctx = FusionContext("fuse", parent, uri, 0.25, "python -m rlx.tune --space x.yaml")
    metrics = fuse_pair(jobs[0], ctx)
    # Expected by hand from the curve (computed independently below).
    curve = []
    for w in [0, 0.25, 0.5, 0.75, 1.0]:
        v = (w * np.array(val_rgb) + (1 - w) * np.array(val_flow)).argmax(1) == [0, 1, 2, 0]
        t = (w * np.array(test_rgb) + (1 - w) * np.array(test_flow)).argmax(1) == [0, 1, 2, 2]
        curve.append((w, v.mean(), t.mean()))
    best_val = max(c[1] for c in curve)
    chosen = min((c for c in curve if c[1] == best_val), key=lambda c: (abs(c[0] - 0.5), c[0]))
    assert metrics["fusion/weight_rgb"] == chosen[0]
    assert metrics["val/top1"] == pytest.approx(chosen[1]) and metrics["test/top1"] == pytest.approx(chosen[2])
    best_test = max(c[2] for c in curve)
    assert metrics["test/top1_at_test_optimal_weight"] == pytest.approx(best_test)
    assert metrics["test/videos"] == 4 and metrics["data/excluded/test"] == 1  # the pair's: the larger count
    assert "data/excluded/train" not in metrics  # neither trial logged it

    runs = child_runs("fuse", parent, tag_filter={"rlx.kind": "fusion"}, tracking_uri=uri)
    assert len(runs) == 1
    run = runs[0]
    assert (run.tags["rlx.fusion.rgb_run"], run.tags["rlx.fusion.flow_run"]) == (rgb, flow)
    assert run.params["data.modality"] == "two_stream" and run.params["fusion.step"] == "0.25"
    assert run.status == "FINISHED" and run.metrics["test/top1"] == pytest.approx(chosen[2])
    fused, classes = read_scores(download_artifact(run.run_id, "scores/test.parquet", tmp_path / "dl", uri))
    w = chosen[0]
    np.testing.assert_allclose(
        fused[classes].to_numpy(), w * np.array(test_rgb) + (1 - w) * np.array(test_flow), atol=1e-6
    )
    table = pd.read_csv(download_artifact(run.run_id, "fusion/curve.csv", tmp_path / "dl", uri))
    np.testing.assert_allclose(table["val/top1"], [c[1] for c in curve])

    # idempotent: a resumed search gets the same metrics and no second run
    assert fuse_pair(jobs[0], ctx) == pytest.approx(run_record(run.run_id, uri).metrics)
    assert len(child_runs("fuse", parent, tag_filter={"rlx.kind": "fusion"}, tracking_uri=uri)) == 1
