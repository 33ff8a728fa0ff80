"""Index rows: the small dicts (paths and labels, never frames) that travel to decode tasks, and their
per-epoch order and sharding over ranks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rlx.data.probe import BAD_STATUSES


def index_rows(df: Any, split: str | None = None, drop_bad: bool = True) -> list[dict[str, Any]]:
    """Index DataFrame -> the small dicts that travel to decode tasks (paths, never frames).

    Rows a probe marked missing/corrupt/too_short (`BAD_STATUSES`) are left
    out when `drop_bad` (they are known before training and reported by the
    probe); `num_frames` is -1 when not probed (the decoder then opens the
    video to count). Keys: video_id, path, label, labels, num_frames.
    """
    if split is not None:
        df = df[df["split"] == split]
    if drop_bad and "status" in df:
        df = df[~df["status"].isin(BAD_STATUSES)]
    rows = []
    for rec in df.itertuples(index=False):
        frames = getattr(rec, "num_frames", None)
        labels = getattr(rec, "labels", None)
        rows.append(
            {
                "video_id": str(rec.video_id),
                "path": str(rec.path),
                "label": int(rec.label),
                "labels": [int(v) for v in labels] if labels is not None else [int(rec.label)],
                "num_frames": -1 if frames is None or _isna(frames) else int(frames),
            }
        )
    return rows


def _isna(value: Any) -> bool:
    try:
        return bool(np.isnan(value))
    except TypeError:
        return value is None or str(value) == "<NA>"


def epoch_rows(
    rows: Sequence[Mapping[str, Any]], epoch: int, seed: int, rank: int = 0, world: int = 1, shuffle: bool = True
) -> list[Mapping[str, Any]]:
    """This rank's rows of one epoch: a permutation seeded by (seed, epoch), then every world-th row.

    Every rank computes the same permutation, so the shards are disjoint and
    cover the epoch; shards differ in size by at most one row.
    """
    order = np.arange(len(rows))
    if shuffle:
        order = np.random.default_rng([seed, epoch, 0x5EED]).permutation(len(rows))
    return [rows[i] for i in order[rank::world]]
