"""rlx.data.pipeline.rows: index DataFrame -> row dicts (bad rows dropped), and per-epoch rank shards."""

from __future__ import annotations

import pandas as pd

from rlx.data.pipeline.rows import epoch_rows, index_rows


def test_epoch_rows_shuffle_per_epoch_and_shard_disjointly():
    rows = [{"video_id": str(i)} for i in range(11)]
    shards = [epoch_rows(rows, epoch=2, seed=5, rank=r, world=3) for r in range(3)]
    ids = [r["video_id"] for shard in shards for r in shard]
    assert sorted(ids, key=int) == [str(i) for i in range(11)] and [len(s) for s in shards] == [4, 4, 3]
    assert epoch_rows(rows, 2, 5) == epoch_rows(rows, 2, 5)
    assert epoch_rows(rows, 2, 5) != epoch_rows(rows, 3, 5)
    assert epoch_rows(rows, 2, 5, shuffle=False) == rows


def test_index_rows_from_an_index_frame():
    df = pd.DataFrame(
        {
            "video_id": ["v1", "v2", "v3", "v4"],
            "path": ["C/v1.avi", "C/v2.avi", "C/v3.avi", "C/v4.avi"],
            "split": ["train", "train", "test", "train"],
            "label": pd.array([3, 4, 3, 4], dtype="int32"),
            "labels": [[3], [4], [3], [4]],
            "num_frames": pd.array([120, None, 90, 10], dtype="Int32"),
            "fps": [25.0] * 4,
            "status": ["ok", "unprobed", "ok", "corrupt"],
        }
    )
    rows = index_rows(df, split="train")
    assert rows == [
        {"video_id": "v1", "path": "C/v1.avi", "label": 3, "labels": [3], "num_frames": 120},
        {"video_id": "v2", "path": "C/v2.avi", "label": 4, "labels": [4], "num_frames": -1},
    ]
    assert len(index_rows(df, split="train", drop_bad=False)) == 3


def test_index_rows_without_labels_or_frame_counts():
    """A minimal index (no labels, num_frames, status columns): labels = [label], num_frames = -1, nothing dropped."""
    df = pd.DataFrame({"video_id": [7], "path": ["x.mp4"], "label": [2]})
    assert index_rows(df) == [{"video_id": "7", "path": "x.mp4", "label": 2, "labels": [2], "num_frames": -1}]
