"""Metrics of a prediction pass and the final test protocol's bookkeeping."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from torch import nn

from rlx.config import RunConfig
from rlx.train.evaluation import evaluation_metrics, final_evaluation, log_scores
from rlx.train.loop import Normalizer, Predictions, StepOptions


def single(scores, labels, loss=0.5):
    return Predictions([f"v{i}" for i in range(len(labels))], np.asarray(scores, np.float32), np.asarray(labels), loss)


def test_single_label_metrics_by_hand():
    # 3 videos, 6 classes: video 0 right, video 1 second-best, video 2 last
    scores = [[5, 1, 0, 0, 0, 0], [1, 0, 2, 0, 0, 0], [0, 1, 2, 3, 4, 5]]
    pred = single(scores, [0, 0, 0])
    val = evaluation_metrics(pred, "val", multilabel=False)
    assert val == pytest.approx({"val/top1": 1 / 3, "val/top5": 2 / 3, "val/loss": 0.5})
    test = evaluation_metrics(single(scores, [0, 0, 5]), "test", multilabel=False)
    assert test["test/top1"] == pytest.approx(2 / 3) and test["test/mean_class_acc"] == pytest.approx((0.5 + 1) / 2)


def test_multilabel_gives_map_and_nothing_for_label_less_sets():
    scores = np.array([[2.0, 0.0], [0.0, 2.0], [1.0, 1.5]], np.float32)
    labels = np.array([[1, 0], [0, 1], [0, 1]])
    out = evaluation_metrics(Predictions(["a", "b", "c"], scores, labels, 0.3), "test", multilabel=True)
    assert out == pytest.approx({"test/mAP": 1.0, "test/loss": 0.3})
    empty = Predictions(["a"], scores[:1], np.zeros((1, 2)), 0.2)
    assert evaluation_metrics(empty, "val", multilabel=True) == {"val/loss": 0.2}
    assert evaluation_metrics(Predictions(), "val", multilabel=False) == {}


def test_scores_and_the_confusion_matrix_go_to_the_tracker(tmp_path):
    logged = []

    class Tracker:
        def log_artifact(self, path, artifact_path=None):
            logged.append((path.name, artifact_path, path.stat().st_size > 0))

    pred = single([[1, 0], [0, 1]], [0, 1])
    log_scores(Tracker(), ["a", "b"], pred, Predictions(), multilabel=False)
    assert logged == [("test.parquet", "scores", True), ("confusion_matrix.png", "plots", True)]


class FirstTwoChannels(nn.Module):
    """Logits = the mean of the first two channels: a video's class is the channel its frames are bright in."""

    def forward(self, x):  # (N, T, C, H, W) -> (N, 2)
        return x.mean(dim=(1, 3, 4))[:, :2]


class ThreeTestVideosOneLost:
    """Test t0, t1, t2 and val v0; t2 fails to decode (the pipeline counts it in `skipped`)."""

    class_names = ["a", "b"]
    normalizer = Normalizer((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))

    def rows(self, subset):
        return [{"video_id": v} for v in ({"test": ["t0", "t1", "t2"], "val": ["v0"]}[subset])]

    def final_batches(self, rank, world):
        frames = np.zeros((3, 2, 1, 3, 4, 4), np.uint8)  # (B, V, T, C, H, W)
        frames[0, :, :, 0] = 255  # t0 bright in channel 0 -> class 0
        frames[1, :, :, 1] = 255  # t1 -> class 1
        frames[2, :, :, 1] = 255  # v0 -> class 1, labelled 0
        yield {
            "frames": frames,
            "video_id": np.array(["t0", "t1", "v0"]),
            "label": np.array([0, 1, 0]),
            "skipped": np.array([1, 0, 0]),
        }


def test_test_metrics_say_how_many_test_videos_they_cover(caplog):
    cfg = RunConfig.from_flat({"eval.view_budget": 2})
    with caplog.at_level(logging.WARNING, logger="rlx.train.evaluation"):
        metrics = final_evaluation(
            FirstTwoChannels(), ThreeTestVideosOneLost(), cfg, StepOptions(torch.device("cpu")), 0, 1, None
        )
    assert metrics["test/top1"] == 1.0  # over t0 and t1: the lost t2 counts neither way
    assert metrics["test/videos"] == 2 and metrics["data/test_skipped"] == 1
    assert "test metrics cover 2 of 3 test videos: 1 failed to decode (t2)" in caplog.text
