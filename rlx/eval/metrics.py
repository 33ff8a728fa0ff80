"""Classification metrics on numpy arrays: scores (N, K) in, floats out.

Conventions:
- Ties never help: a label is in the top k only if fewer than k classes beat
  it, where a class beats it with a higher score, or an equal score and a
  lower class id (what a stable argsort of -scores ranks first).
- `mean_class_accuracy` is the mean over the classes present in `labels` of
  per-class top-1 recall: what TSN reports as "accuracy"; top-1 is kept
  separate.
- `charades_map` follows the official Charades_v1_classify.m: per class,
  rank all videos by score (stable descending sort: among equal scores the
  earlier video ranks first), take the precision at the rank of every
  positive and average (no interpolation). Videos without any label are
  removed before ranking. A class with no positive gets NaN in the
  per-class vector and is left out of the mean (the count is in the return).
"""
from __future__ import annotations

import numpy as np


def _check_scores(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError(f"scores must be (N, K), got shape {scores.shape}")
    if scores.shape[0] == 0:
        raise ValueError("no videos to evaluate (scores has 0 rows)")
    if np.isnan(scores).any():
        raise ValueError(f"scores contain NaN ({int(np.isnan(scores).sum())} values)")
    return scores


def _check_labels(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (scores.shape[0],):
        raise ValueError(f"labels must be ({scores.shape[0]},) to match scores {scores.shape}, got {labels.shape}")
    bad = labels[(labels < 0) | (labels >= scores.shape[1])]
    if bad.size:
        raise ValueError(f"label {int(bad[0])} is out of range for {scores.shape[1]} classes")
    return labels.astype(np.int64)


def label_ranks(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """0-based rank of each video's true class (0 = predicted first), ties counted against it."""
    scores = _check_scores(scores)
    labels = _check_labels(labels, scores)
    true = scores[np.arange(len(labels)), labels][:, None]
    higher = (scores > true).sum(axis=1)
    tied_before = ((scores == true) & (np.arange(scores.shape[1])[None, :] < labels[:, None])).sum(axis=1)
    return higher + tied_before


def top_k_accuracy(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return float(np.mean(label_ranks(scores, labels) < k))


def predictions(scores: np.ndarray) -> np.ndarray:
    """Top-1 class per video (the lowest class id among tied maxima)."""
    return np.argmax(_check_scores(scores), axis=1)


def per_class_accuracy(scores: np.ndarray, labels: np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """(K,) top-1 recall per class; NaN for classes with no video in `labels`."""
    scores = _check_scores(scores)
    labels = _check_labels(labels, scores)
    k = num_classes or scores.shape[1]
    correct = np.bincount(labels, weights=(label_ranks(scores, labels) == 0).astype(float), minlength=k)
    total = np.bincount(labels, minlength=k).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, correct / total, np.nan)


def mean_class_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    return float(np.nanmean(per_class_accuracy(scores, labels)))


def confusion_matrix(scores: np.ndarray, labels: np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """(K, K) counts, rows = true class, columns = predicted class."""
    scores = _check_scores(scores)
    labels = _check_labels(labels, scores)
    k = num_classes or scores.shape[1]
    flat = labels * k + predictions(scores)
    return np.bincount(flat, minlength=k * k).reshape(k, k).astype(np.int64)


def average_precision(scores: np.ndarray, positives: np.ndarray) -> float:
    """Non-interpolated AP of one class; NaN when there is no positive."""
    scores = np.asarray(scores, dtype=np.float64)
    positives = np.asarray(positives).astype(bool)
    if scores.shape != positives.shape or scores.ndim != 1:
        raise ValueError(f"scores {scores.shape} and positives {positives.shape} must be equal 1-D shapes")
    if not positives.any():
        return float("nan")
    order = np.argsort(-scores, kind="stable")  # ties keep input order, as MATLAB's sort
    hits = positives[order]
    precision_at = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision_at[hits].mean())


def charades_map(scores: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """(mAP over classes with positives, per-class AP with NaN where a class has none).

    `labels` is (N, K) multi-hot. Videos with no label at all are excluded.
    """
    scores = _check_scores(scores)
    labels = np.asarray(labels)
    if labels.shape != scores.shape:
        raise ValueError(f"labels must be multi-hot {scores.shape} like scores, got {labels.shape}")
    keep = labels.sum(axis=1) > 0
    if not keep.any():
        raise ValueError("no video has any label: mAP is undefined")
    scores, labels = scores[keep], labels[keep].astype(bool)
    per_class = np.array([average_precision(scores[:, c], labels[:, c]) for c in range(scores.shape[1])])
    return float(np.nanmean(per_class)), per_class


def summarize_single_label(scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    return {
        "top1": top_k_accuracy(scores, labels, 1),
        "top5": top_k_accuracy(scores, labels, min(5, np.asarray(scores).shape[1])),
        "mean_class_acc": mean_class_accuracy(scores, labels),
    }
