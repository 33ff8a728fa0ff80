"""Metrics of a prediction pass and the final test protocol's bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest

from rlx.train.evaluation import evaluation_metrics, log_scores
from rlx.train.loop import Predictions


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
