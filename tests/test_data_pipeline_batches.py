"""rlx.data.pipeline.batches: decode_batch's output columns (labels, skips, empty batches) and rebatch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_data_pipeline_video import T, by_id, make_rows, spec_for, write_clips

from rlx.data.pipeline.batches import decode_batch, rebatch, to_columns


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clips(tmp_path_factory.mktemp("batches"))


def test_multilabel_rows_get_multi_hot_labels(dataset):
    spec = spec_for(dataset, mode="val", multilabel=True, num_classes=3)
    rows = by_id([decode_batch(to_columns(make_rows(with_bad=False)), spec)])
    np.testing.assert_array_equal(rows["a1"]["labels"], np.array([1, 0, 1], dtype=np.float32))
    np.testing.assert_array_equal(rows["b0"]["labels"], np.array([0, 1, 0], dtype=np.float32))
    assert rows["a1"]["labels"].dtype == np.float32


def test_skipped_count_goes_on_the_first_surviving_row(dataset):
    """Rows a0, broken, a1, gone, b0, b1: two failures, counted once, on a0's row."""
    out = decode_batch(to_columns(make_rows()), spec_for(dataset, mode="val"))
    assert out["video_id"].tolist() == ["a0", "a1", "b0", "b1"]
    assert out["skipped"].tolist() == [2, 0, 0, 0] and out["skipped"].dtype == np.int32
    assert out["label"].tolist() == [0, 0, 1, 1] and out["label"].dtype == np.int64


def test_all_failed_decode_batch_returns_empty_arrays(tmp_path):
    spec = spec_for(tmp_path)
    cols = {
        "video_id": np.array(["gone"], dtype=object),
        "path": np.array(["A/gone.mp4"], dtype=object),
        "label": np.array([0]),
        "labels": np.array([None], dtype=object),
        "num_frames": np.array([-1]),
    }
    out = decode_batch(cols, spec)
    assert out["frames"].shape == (0, T, 3, 32, 32) and out["label"].shape == (0,) and out["skipped"].shape == (0,)


def test_to_columns_keeps_label_lists_as_one_object_per_row():
    rows = [{"video_id": "a", "path": "p/a", "label": 1, "labels": [1, 2], "num_frames": 9}] * 2
    cols = to_columns(rows)
    assert cols["labels"].shape == (2,) and cols["labels"][1].tolist() == [1, 2]  # not a (2, 2) array
    assert cols["label"].dtype == np.int64 and cols["num_frames"].tolist() == [9, 9]


# --------------------------------------------------------------------------- rebatch


def numbered(*sizes: int) -> list[dict[str, np.ndarray]]:
    """Batches of the given sizes whose rows are numbered 0, 1, 2, … across batches."""
    out, start = [], 0
    for size in sizes:
        ids = np.arange(start, start + size)
        out.append({"x": ids.astype(np.uint8)[:, None].repeat(2, 1), "video_id": ids.astype(str).astype(object)})
        start += size
    return out


def test_rebatch_yields_fixed_sizes_in_order_with_a_partial_last():
    """Sizes 3, 0, 1, 5 (9 rows) at batch_size 4 -> 4, 4, 1, rows in their original order."""
    got = list(rebatch(numbered(3, 0, 1, 5), 4))
    assert [len(b["x"]) for b in got] == [4, 4, 1]
    assert [b["video_id"].tolist() for b in got] == [["0", "1", "2", "3"], ["4", "5", "6", "7"], ["8"]]
    assert got[1]["x"].tolist() == [[4, 4], [5, 5], [6, 6], [7, 7]] and got[1]["x"].dtype == np.uint8


def test_rebatch_splits_a_large_batch_and_passes_exact_ones_through():
    assert [len(b["x"]) for b in rebatch(numbered(10), 3)] == [3, 3, 3, 1]
    assert [len(b["x"]) for b in rebatch(numbered(2, 2), 2)] == [2, 2]
    assert list(rebatch([], 2)) == [] and list(rebatch(numbered(0, 0), 2)) == []
    with pytest.raises(ValueError, match="batch_size"):
        list(rebatch(numbered(1), 0))
