"""Score tables: the parquet contract that fusion and reports read."""

import numpy as np
import pytest

from rlx.eval.scores import multi_hot, read_scores, score_matrix, write_scores


def test_single_label_round_trip_keeps_class_order_and_values(tmp_path):
    scores = np.array([[0.5, -1.0, 2.0], [3.0, 0.0, -2.5]], np.float32)
    path = write_scores(
        tmp_path / "scores" / "test.parquet", ["v1", "v0"], scores, np.array([2, 0]), ["Zebra", "Apple", "Mango"]
    )
    frame, classes = read_scores(path)
    assert list(frame.columns) == ["video_id", "label", "Zebra", "Apple", "Mango"]
    assert classes == ["Zebra", "Apple", "Mango"]  # class-id order, not alphabetical
    assert frame["label"].tolist() == [2, 0] and str(frame["Zebra"].dtype) == "float32"
    np.testing.assert_array_equal(score_matrix(frame, classes), scores)


def test_multi_label_round_trip(tmp_path):
    hot = np.array([[1, 0, 1], [0, 0, 0]], np.float32)  # second video has no label at all
    path = write_scores(tmp_path / "s.parquet", ["a", "b"], np.zeros((2, 3)), hot, ["c0", "c1", "c2"])
    frame, classes = read_scores(path)
    assert [list(x) for x in frame["labels"]] == [[0, 2], []]
    np.testing.assert_array_equal(multi_hot(frame, 3), hot)


def test_shape_mismatch_and_reserved_names_are_rejected(tmp_path):
    with pytest.raises(ValueError, match=r"scores shape \(2, 2\) does not match 2 videos × 3 classes"):
        write_scores(tmp_path / "s.parquet", ["a", "b"], np.zeros((2, 2)), np.array([0, 1]), ["x", "y", "z"])
    with pytest.raises(ValueError, match="class names must be unique"):
        write_scores(tmp_path / "s.parquet", ["a"], np.zeros((1, 2)), np.array([0]), ["label", "y"])
