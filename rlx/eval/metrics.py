"""Classification metrics on numpy arrays: scores (N, K) in, floats out.

Pure functions, numpy only. Scores may be float32 or float64 (logits or
probabilities: only their order matters); NaN scores and empty inputs raise
ValueError, +/-inf is accepted.

Tie rules (deterministic, and ties never help):
- Single-label: a video's true class is beaten by every class with a higher
  score and by every class with an equal score and a lower class id, i.e. the
  order of a stable descending sort. The label is in the top k iff fewer than
  k classes beat it; the top-1 prediction is the lowest id among the maxima
  (`np.argmax`), so top-1, per-class accuracy and the confusion matrix agree.
- Average precision (Charades_v1_classify.m): per class, videos are ranked by
  a stable descending sort of their scores (MATLAB's `sort(-conf)`), so among
  equal scores the earlier video (input order) ranks first.

Charades mAP: videos with no label at all are removed before any ranking;
per class, AP is the mean of the precisions at the ranks of its positives (no
interpolation). A class with no positive among the kept videos has an
undefined AP: it is NaN in the per-class vector, the mean is taken over the
classes that do have positives, and `MapResult.num_without_positives` counts
the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np


def _check_scores(scores: np.ndarray, ndim: int = 2) -> np.ndarray:
    scores = np.asarray(scores)
    if not (np.issubdtype(scores.dtype, np.floating) or np.issubdtype(scores.dtype, np.integer)):
        raise ValueError(f"scores must be numeric, got dtype {scores.dtype}")
    scores = scores.astype(np.float64, copy=False)
    if scores.ndim != ndim:
        raise ValueError(f"scores must be {'(N, K)' if ndim == 2 else '(N,)'}, got shape {scores.shape}")
    if scores.shape[0] == 0:
        raise ValueError("no videos to evaluate (scores has 0 rows)")
    if ndim == 2 and scores.shape[1] == 0:
        raise ValueError("scores has 0 classes (K = 0)")
    if np.isnan(scores).any():
        raise ValueError(f"scores contain NaN ({int(np.isnan(scores).sum())} values)")
    return scores


def _check_labels(labels: np.ndarray, n: int, num_classes: int, name: str = "labels") -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise ValueError(f"{name} must be ({n},) to match {n} videos, got shape {labels.shape}")
    if not (np.issubdtype(labels.dtype, np.integer) or np.issubdtype(labels.dtype, np.floating)):
        raise ValueError(f"{name} must be integer class ids, got dtype {labels.dtype}")
    if np.issubdtype(labels.dtype, np.floating) and not np.all(np.mod(labels, 1) == 0):  # also catches NaN
        bad = labels[~(np.mod(labels, 1) == 0)][0]
        raise ValueError(f"{name} must be integer class ids, got {bad}")
    bad = labels[(labels < 0) | (labels >= num_classes)]
    if bad.size:
        raise ValueError(f"label {int(bad[0])} in {name} is out of range for {num_classes} classes")
    return labels.astype(np.int64)


def _check_num_classes(num_classes: int | None, k: int) -> int:
    if num_classes is not None and num_classes != k:
        raise ValueError(f"num_classes={num_classes} does not match scores with {k} classes")
    return k


def label_ranks(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(N,) 0-based rank of each video's true class (0 = predicted first); ties count against it."""
    scores = _check_scores(scores)
    labels = _check_labels(labels, *scores.shape)
    true = scores[np.arange(len(labels)), labels][:, None]
    higher = (scores > true).sum(axis=1)
    tied_before = ((scores == true) & (np.arange(scores.shape[1])[None, :] < labels[:, None])).sum(axis=1)
    return higher + tied_before


def top_k_accuracy(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Fraction in [0, 1] of videos whose label is among the k best classes (ties: see module doc).

    k >= K gives 1.0.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    return float(np.mean(label_ranks(scores, labels) < k))


def predictions(scores: np.ndarray) -> np.ndarray:
    """(N,) top-1 class per video (the lowest class id among tied maxima)."""
    return np.argmax(_check_scores(scores), axis=1)


def per_class_accuracy(scores: np.ndarray, labels: np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """(K,) top-1 recall per class; NaN for classes with no video in `labels`.

    `num_classes`, when given, must equal K = scores.shape[1] (a guard against a
    mismatched class list).
    """
    scores = _check_scores(scores)
    k = _check_num_classes(num_classes, scores.shape[1])
    labels = _check_labels(labels, *scores.shape)
    correct = np.bincount(labels, weights=label_ranks(scores, labels) == 0, minlength=k)
    total = np.bincount(labels, minlength=k).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, correct / total, np.nan)


def mean_class_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mean over the classes present in `labels` of per-class top-1 recall (TSN's "accuracy")."""
    return float(np.nanmean(per_class_accuracy(scores, labels)))


def confusion_matrix(scores_or_preds: np.ndarray, labels: np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """(K, K) int64 counts, rows = true class, columns = predicted class.

    Takes scores (N, K) (prediction = `predictions(scores)`; `num_classes`, if
    given, must equal K) or predicted class ids (N,) (`num_classes` required).
    """
    arr = np.asarray(scores_or_preds)
    if arr.ndim == 1:
        if num_classes is None or num_classes < 1:
            raise ValueError(f"num_classes (>= 1) is required with 1-D predictions, got {num_classes!r}")
        if arr.shape[0] == 0:
            raise ValueError("no videos to evaluate (predictions are empty)")
        k, preds = num_classes, _check_labels(arr, arr.shape[0], num_classes, name="predictions")
    else:
        scores = _check_scores(arr)
        k, preds = _check_num_classes(num_classes, scores.shape[1]), predictions(scores)
    labels = _check_labels(labels, preds.shape[0], k)
    return np.bincount(labels * k + preds, minlength=k * k).reshape(k, k).astype(np.int64)


def _ap_columns(scores: np.ndarray, positives: np.ndarray) -> np.ndarray:
    """AP of every column of validated (N, C) scores / bool positives; NaN where a column has none."""
    order = np.argsort(-scores, axis=0, kind="stable")  # ties keep input order, as MATLAB's sort(-conf)
    hits = np.take_along_axis(positives, order, axis=0)
    precision_at = np.cumsum(hits, axis=0) / np.arange(1, len(hits) + 1)[:, None]
    npos = hits.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(npos > 0, (precision_at * hits).sum(axis=0) / npos, np.nan)


def _check_binary(labels: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != shape:
        raise ValueError(f"{name} must have shape {shape} like scores, got {labels.shape}")
    if not np.isin(labels, (0, 1)).all():  # NaN is not in {0, 1} either
        raise ValueError(f"{name} must be 0/1 (or bool), got values {np.unique(labels[~np.isin(labels, (0, 1))])[:5]}")
    return labels.astype(bool)


def average_precision(scores: np.ndarray, positives: np.ndarray) -> float:
    """Non-interpolated AP of one class: mean precision at the rank of each positive.

    Ranking is a stable descending sort (ties keep input order). NaN when there
    is no positive.
    """
    scores = _check_scores(scores, ndim=1)
    positives = _check_binary(positives, scores.shape, "positives")
    return float(_ap_columns(scores[:, None], positives[:, None])[0])


class MapResult(NamedTuple):
    """`charades_map` result; unpacks as `(mean_ap, per_class_ap)`."""

    mean_ap: float  # mean over the classes with at least one positive
    per_class_ap: np.ndarray  # (K,), NaN for classes without positives

    @property
    def num_without_positives(self) -> int:
        """How many classes had no positive (NaN AP, left out of `mean_ap`)."""
        return int(np.isnan(self.per_class_ap).sum())


def charades_map(scores: np.ndarray, labels: np.ndarray) -> MapResult:
    """Charades mAP, as Charades_v1_classify.m (see module doc): returns (mAP, per-class AP).

    `labels` is (N, K) multi-hot 0/1 (bool, int or float). Videos with no label
    are excluded from every class's ranking. Per-class AP is NaN for a class
    without positives; the mAP is the mean over the other classes, and
    `.num_without_positives` reports how many were left out. Raises ValueError
    when no video has a label.
    """
    scores = _check_scores(scores)
    labels = _check_binary(labels, scores.shape, "labels")
    keep = labels.any(axis=1)
    if not keep.any():
        raise ValueError(f"none of the {len(labels)} videos has a label: mAP is undefined")
    per_class = _ap_columns(scores[keep], labels[keep])
    return MapResult(float(np.nanmean(per_class)), per_class)


def summarize_single_label(
    scores: np.ndarray, labels: np.ndarray, class_names: Sequence[str] | None = None
) -> dict[str, float]:
    """{"top1", "top5", "mean_class_acc"}; `class_names`, if given, must have K entries."""
    if class_names is not None:
        _check_num_classes(len(class_names), _check_scores(scores).shape[1])
    return {
        "top1": top_k_accuracy(scores, labels, 1),
        "top5": top_k_accuracy(scores, labels, 5),
        "mean_class_acc": mean_class_accuracy(scores, labels),
    }
