"""Two-stream fusion from stored scores (PAPER.md §4): no model is needed.

The streams are trained separately and fused by a weighted average of their
pre-softmax scores, `w · rgb + (1 - w) · flow`. The weight is chosen on the
validation hold-out (shared by every trial and stream, so the two tables
hold the same videos) and reported on test. The test-optimal weight is
computed too, only to compare with the paper's published weights (UCF-101
0.45 / HMDB-51 0.33 for RGB), which were read off test accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rlx.eval.metrics import charades_map, mean_class_accuracy, top_k_accuracy
from rlx.eval.scores import multi_hot, score_matrix


class FusionError(ValueError):
    """The two score tables cannot be fused (different classes or videos)."""


@dataclass(frozen=True)
class StreamScores:
    """One stream's scores on one subset, aligned by video id with the other stream."""

    scores: np.ndarray  # (N, K) float32 logits
    labels: np.ndarray  # (N,) int class ids, or (N, K) multi-hot


@dataclass(frozen=True)
class FusionResult:
    weight_rgb: float  # chosen on validation
    val_metric: float  # at weight_rgb
    test_metric: float  # at weight_rgb: the number to report
    test_optimal_weight_rgb: float  # chosen on test: for comparison with the paper only
    test_metric_at_test_optimal: float
    metric: str  # "top1" or "mAP"
    curve: pd.DataFrame  # weight_rgb, val, test: the metric at every weight of the grid


def weight_grid(step: float) -> np.ndarray:
    """0, step, 2·step, …, 1 (1 included even when step does not divide it exactly)."""
    if not 0 < step <= 1:
        raise FusionError(f"fusion step must be in (0, 1], got {step}")
    grid = np.round(np.arange(0.0, 1.0 + 1e-9, step), 6)
    return grid if grid[-1] == 1.0 else np.append(grid, 1.0)


def fuse(rgb: np.ndarray, flow: np.ndarray, weight_rgb: float) -> np.ndarray:
    return weight_rgb * rgb + (1.0 - weight_rgb) * flow


def align(
    rgb: pd.DataFrame, flow: pd.DataFrame, classes_rgb: list[str], classes_flow: list[str], subset: str
) -> tuple[StreamScores, StreamScores]:
    """Both streams' scores on the videos they share, in the same order; errors name what differs."""
    if classes_rgb != classes_flow:
        diff = sorted(set(classes_rgb) ^ set(classes_flow))[:3]
        raise FusionError(f"{subset} scores: the streams have different classes ({diff or 'same names, other order'})")
    missing = set(rgb["video_id"]) ^ set(flow["video_id"])
    if missing:
        # Both streams score the same split and hold-out; a difference means a video failed to decode in one.
        raise FusionError(
            f"{subset} scores: {len(missing)} video(s) scored by one stream only, e.g. {sorted(missing)[0]!r}"
        )
    flow = flow.set_index("video_id").loc[rgb["video_id"]].reset_index()
    multilabel = "labels" in rgb.columns
    if multilabel:
        labels = multi_hot(rgb, len(classes_rgb))
        if not np.array_equal(labels, multi_hot(flow, len(classes_rgb))):
            raise FusionError(f"{subset} scores: the streams disagree on the labels of some videos")
    else:
        labels = rgb["label"].to_numpy()
        if not np.array_equal(labels, flow["label"].to_numpy()):
            raise FusionError(f"{subset} scores: the streams disagree on the labels of some videos")
    return (StreamScores(score_matrix(rgb, classes_rgb), labels), StreamScores(score_matrix(flow, classes_rgb), labels))


def metric_of(scores: np.ndarray, labels: np.ndarray) -> float:
    """top-1 accuracy, or mAP for multi-hot labels (Charades)."""
    return charades_map(scores, labels).mean_ap if labels.ndim == 2 else top_k_accuracy(scores, labels, 1)


def _best(weights: np.ndarray, values: np.ndarray) -> int:
    """Index of the best value; ties go to the weight nearest 0.5 (equal streams), then the lower one."""
    best = values.max()
    candidates = np.flatnonzero(np.isclose(values, best, rtol=0, atol=1e-12))
    return int(min(candidates, key=lambda i: (abs(weights[i] - 0.5), weights[i])))


def search_weight(
    val: tuple[StreamScores, StreamScores], test: tuple[StreamScores, StreamScores], step: float
) -> FusionResult:
    """Grid-search the RGB weight on validation; report test at that weight and the test optimum."""
    weights = weight_grid(step)
    val_curve = np.array([metric_of(fuse(val[0].scores, val[1].scores, w), val[0].labels) for w in weights])
    test_curve = np.array([metric_of(fuse(test[0].scores, test[1].scores, w), test[0].labels) for w in weights])
    chosen, oracle = _best(weights, val_curve), _best(weights, test_curve)
    return FusionResult(
        weight_rgb=float(weights[chosen]),
        val_metric=float(val_curve[chosen]),
        test_metric=float(test_curve[chosen]),
        test_optimal_weight_rgb=float(weights[oracle]),
        test_metric_at_test_optimal=float(test_curve[oracle]),
        metric="mAP" if test[0].labels.ndim == 2 else "top1",
        curve=pd.DataFrame({"weight_rgb": weights, "val": val_curve, "test": test_curve}),
    )


def fused_test_metrics(test: tuple[StreamScores, StreamScores], weight_rgb: float) -> dict[str, float]:
    """The test metrics of the fused scores, under the training runs' metric names."""
    scores, labels = fuse(test[0].scores, test[1].scores, weight_rgb), test[0].labels
    if labels.ndim == 2:
        return {"test/mAP": charades_map(scores, labels).mean_ap}
    return {
        "test/top1": top_k_accuracy(scores, labels, 1),
        "test/top5": top_k_accuracy(scores, labels, min(5, scores.shape[1])),
        "test/mean_class_acc": mean_class_accuracy(scores, labels),
    }
