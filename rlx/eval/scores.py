"""Per-video score tables (`scores/test.parquet`, `scores/val.parquet`).

Columns: `video_id`, `label` (single-label) or `labels` (list of class ids),
then one float32 column per class, named after the class, in class-id order.
The scores are pre-softmax logits, so fusion and reports never need the
model again (PAPER.md §4: streams are fused by a weighted average of scores
before softmax).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

FIXED_COLUMNS = ("video_id", "label", "labels")
Scores = tuple[pd.DataFrame, list[str]]  # a score table and its class names in class-id order (read_scores)
ScoresOf = Callable[[str], Scores | None]  # run id -> its stored scores, None when it has none


def scores_table(video_ids: list[str], scores: np.ndarray, labels: np.ndarray, class_names: list[str]) -> pd.DataFrame:
    """A DataFrame in the scores format; `labels` (N,) ints or (N, K) multi-hot."""
    if scores.shape != (len(video_ids), len(class_names)):
        raise ValueError(
            f"scores shape {scores.shape} does not match {len(video_ids)} videos × {len(class_names)} classes"
        )
    clash = set(class_names) & set(FIXED_COLUMNS)
    if clash or len(set(class_names)) != len(class_names):
        raise ValueError(f"class names must be unique and not {FIXED_COLUMNS}: {sorted(clash) or 'duplicates'}")
    frame = pd.DataFrame({"video_id": list(video_ids)})
    if labels.ndim == 2:
        frame["labels"] = [np.flatnonzero(row).astype(np.int32).tolist() for row in labels]
    else:
        frame["label"] = labels.astype(np.int32)
    class_cols = pd.DataFrame(scores.astype(np.float32), columns=class_names)
    return pd.concat([frame, class_cols], axis=1)


def write_scores(
    path: Path, video_ids: list[str], scores: np.ndarray, labels: np.ndarray, class_names: list[str]
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(scores_table(video_ids, scores, labels, class_names), preserve_index=False)
    pq.write_table(table, path)
    return path


def read_scores(path: Path) -> Scores:
    """(table, class names in class-id order)."""
    frame = pd.read_parquet(path)
    return frame, [c for c in frame.columns if c not in FIXED_COLUMNS]


def score_matrix(frame: pd.DataFrame, class_names: list[str]) -> np.ndarray:
    return frame[class_names].to_numpy(np.float32)


def multi_hot(frame: pd.DataFrame, num_classes: int) -> np.ndarray:
    out = np.zeros((len(frame), num_classes), np.float32)
    for row, ids in enumerate(frame["labels"]):
        out[row, list(ids)] = 1.0
    return out
