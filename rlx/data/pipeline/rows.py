"""Index rows: the small dicts (paths and labels, never frames) that travel to decode tasks, their
per-epoch order and sharding over ranks, and Charades' training samples (one per annotated action)."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any, get_args

import numpy as np

from rlx.config import CharadesTrain
from rlx.data.probe import BAD_STATUSES

log = logging.getLogger(__name__)


def index_rows(df: Any, split: str | None = None, drop_bad: bool = True) -> list[dict[str, Any]]:
    """Index DataFrame -> the small dicts that travel to decode tasks (paths, never frames).

    Rows a probe marked missing/corrupt/too_short (`BAD_STATUSES`) are left
    out when `drop_bad` (they are known before training and reported by the
    probe); `num_frames` is -1 when not probed (the decoder then opens the
    video to count). Keys: video_id, path, label, labels, num_frames; an index
    with Charades' `segments` and `duration` columns adds `actions` (the
    segments flattened: class, start, end, class, start, end, … seconds, as
    plain floats for Arrow) and `duration` (seconds).
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
        if hasattr(rec, "segments"):
            segments = rec.segments if rec.segments is not None else []
            flat = [float(x) for seg in segments for x in (seg["class"], seg["start"], seg["end"])]
            duration = getattr(rec, "duration", None)
            rows[-1]["actions"] = flat
            rows[-1]["duration"] = float("nan") if duration is None or _isna(duration) else float(duration)
    return rows


def action_rows(rows: Sequence[Mapping[str, Any]], per: CharadesTrain) -> list[dict[str, Any]]:
    """Charades' training samples from its video rows: the paper trains on the annotated actions.

    `per` = "segments": one row per action (key `action` = its position in
    the row's `actions`), every action once per epoch; "videos": one row per
    video (`action` = -1), whose decode task draws one of its actions with the
    video's generator, a fresh one every epoch. A video without any action
    gives no sample (there is nothing to extract; the count is logged). A
    video with actions but no positive `duration` is an error: its actions
    cannot be placed in frames.
    """
    if per not in get_args(CharadesTrain):
        raise ValueError(f"data.charades_train must be one of {get_args(CharadesTrain)}, got {per!r}")
    out: list[dict[str, Any]] = []
    without = 0
    for row in rows:
        count = len(row["actions"]) // 3
        if not count:
            without += 1
            continue
        if not (math.isfinite(row["duration"]) and row["duration"] > 0):
            raise ValueError(
                f"video {row['video_id']}: actions but no duration (the csv's `length`) to place them in frames"
            )
        if per == "segments":
            out.extend({**row, "action": k} for k in range(count))
        else:
            out.append({**row, "action": -1})
    if without:
        log.info("%d of %d training videos have no annotated action: no training sample", without, len(rows))
    return out


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


def epochs_rows(
    rows: Sequence[Mapping[str, Any]], epochs: range, seed: int, rank: int = 0, world: int = 1
) -> list[dict[str, Any]]:
    """This rank's rows of several epochs, one epoch after the other, each row tagged with its `epoch`.

    One Ray Data run then streams them all (`batches.EpochSplitter` hands them back per epoch): a run per
    epoch costs its start-up (~2 s on 2 cores) as data wait at every epoch's start.
    """
    return [{**row, "epoch": e} for e in epochs for row in epoch_rows(rows, e, seed, rank, world)]
