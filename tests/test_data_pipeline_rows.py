"""rlx.data.pipeline.rows: index DataFrame -> row dicts (bad rows dropped), and per-epoch rank shards."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pandas as pd
import pytest

from rlx.data import splits
from rlx.data.pipeline.rows import action_rows, epoch_rows, index_rows

CHARADES = Path(__file__).parent / "fixtures" / "annotations" / "charades"


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


@pytest.fixture(scope="module")
def charades_rows(tmp_path_factory) -> list[dict]:
    """The Charades fixture's train rows, through index.parquet as a run reads them."""
    path = splits.write_index(splits.build_index("charades", CHARADES), tmp_path_factory.mktemp("idx") / "i.parquet")
    return index_rows(splits.read_index(path), split="train")


def test_index_rows_carry_charades_actions_flat_and_the_duration(charades_rows):
    by_id = {r["video_id"]: r for r in charades_rows}
    # c002 0.00 3.00;c003 2.50 6.00;c002 7.00 9.00, length 9.50
    assert by_id["05124"]["actions"] == [2.0, 0.0, 3.0, 3.0, 2.5, 6.0, 2.0, 7.0, 9.0]
    assert by_id["05124"]["duration"] == 9.5 and by_id["05124"]["labels"] == [2, 3]
    assert by_id["469E8"]["actions"] == []  # empty actions field


def test_action_rows_one_sample_per_action(charades_rows, caplog):
    with caplog.at_level(logging.INFO, logger="rlx.data.pipeline.rows"):
        rows = action_rows(charades_rows, "segments")
    # AB12C 2 actions, 05124 3, 469E8 none (left out, logged), R3V3R 2 (its third lies past the end)
    assert [(r["video_id"], r["action"]) for r in rows] == [
        ("AB12C", 0), ("AB12C", 1), ("05124", 0), ("05124", 1), ("05124", 2), ("R3V3R", 0), ("R3V3R", 1)
    ]  # fmt: skip
    assert rows[3]["actions"] == [2.0, 0.0, 3.0, 3.0, 2.5, 6.0, 2.0, 7.0, 9.0]  # every action: targets need them
    assert "1 of 4 training videos have no annotated action" in caplog.text


def test_action_rows_one_sample_per_video(charades_rows):
    rows = action_rows(charades_rows, "videos")
    assert [(r["video_id"], r["action"]) for r in rows] == [("AB12C", -1), ("05124", -1), ("R3V3R", -1)]


def test_action_rows_reject_an_unknown_mode_and_actions_without_duration(charades_rows):
    with pytest.raises(ValueError, match=r"data.charades_train must be one of \('segments', 'videos'\), got 'all'"):
        action_rows(charades_rows, "all")  # type: ignore[arg-type]
    broken = [{**charades_rows[0], "duration": math.nan}]
    with pytest.raises(ValueError, match="^video AB12C: actions but no duration"):
        action_rows(broken, "segments")
