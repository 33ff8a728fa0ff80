"""Two-stream fusion from stored scores: weight grid, alignment, weight chosen on val vs test."""

import numpy as np
import pytest

from rlx.eval.fusion import FusionError, StreamScores, align, fuse, fused_test_metrics, search_weight, weight_grid
from rlx.eval.scores import scores_table


def test_weight_grid_includes_both_ends():
    assert weight_grid(0.25).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert weight_grid(0.05)[[0, 9, -1]].tolist() == [0.0, 0.45, 1.0] and len(weight_grid(0.05)) == 21
    assert weight_grid(0.3).tolist() == [0.0, 0.3, 0.6, 0.9, 1.0]  # 1.0 appended
    with pytest.raises(FusionError, match="step"):
        weight_grid(0)


def _streams(rgb_rows, flow_rows, labels):
    labels = np.asarray(labels)
    rgb = StreamScores(np.asarray(rgb_rows, np.float32), labels)
    return rgb, StreamScores(np.asarray(flow_rows, np.float32), labels)


def test_search_weight_picks_on_val_and_reports_test_at_that_weight():
    # Val video 0: RGB right, flow mildly wrong -> right iff w > 0.2 (1 - w), w > 1/6; video 1: flow right
    # with a big margin, RGB mildly wrong -> right iff 3 (1 - w) > 0.5 w, w < 6/7. On the grid of 0.25 both
    # hold for {0.25, 0.5, 0.75}; the tie goes to the weight nearest 0.5.
    val = _streams([[1, 0], [0.5, 0]], [[0, 0.2], [0, 3]], [0, 1])
    # Test video 0 is right iff 2 w > 3 (1 - w), w > 0.6; video 1 is always right.
    test = _streams([[2, 0], [0, 1]], [[0, 3], [0, 1]], [0, 1])
    result = search_weight(val, test, 0.25)
    assert result.metric == "top1"
    assert result.weight_rgb == 0.5 and result.val_metric == 1.0
    # test at w=0.5: video 0 fused = [1, 1.5] -> wrong; video 1 right -> 0.5
    assert result.test_metric == 0.5
    # the test-optimal weight is reported separately (2/2 for w in {0.75, 1}; tie -> 0.75, nearest 0.5)
    assert (result.test_optimal_weight_rgb, result.test_metric_at_test_optimal) == (0.75, 1.0)
    assert result.curve["weight_rgb"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert result.curve["val"].tolist() == [0.5, 1.0, 1.0, 1.0, 0.5]


def test_fusion_equals_weighted_average_of_logits():
    rng = np.random.default_rng(0)
    rgb, flow = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    np.testing.assert_allclose(fuse(rgb, flow, 0.3), 0.3 * rgb + 0.7 * flow)
    labels = np.array([0, 1, 2, 3, 0, 1])
    metrics = fused_test_metrics((StreamScores(rgb, labels), StreamScores(flow, labels)), 1.0)
    assert metrics["test/top1"] == pytest.approx(np.mean(rgb.argmax(1) == labels))
    assert set(metrics) == {"test/top1", "test/top5", "test/mean_class_acc"}


def test_multilabel_fusion_uses_map():
    labels = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0]], np.float32)
    rgb = labels * 2 - 1  # perfect ranking
    flow = -rgb  # inverted ranking
    result = search_weight(_streams(rgb, flow, labels), _streams(rgb, flow, labels), 0.5)
    assert result.metric == "mAP" and result.weight_rgb == 1.0 and result.test_metric == pytest.approx(1.0)
    assert set(fused_test_metrics(_streams(rgb, flow, labels), 1.0)) == {"test/mAP"}


def _table(ids, scores, labels, classes=("a", "b")):
    return scores_table(list(ids), np.asarray(scores, np.float32), np.asarray(labels), list(classes))


def test_align_reorders_flow_by_video_id():
    rgb = _table(["v1", "v2", "v3"], [[1, 0], [0, 1], [1, 0]], [0, 1, 0])
    flow = _table(["v3", "v1", "v2"], [[3, 0], [1, 0], [0, 2]], [0, 0, 1])
    a, b = align(rgb, flow, ["a", "b"], ["a", "b"], "test")
    np.testing.assert_array_equal(b.scores, [[1, 0], [0, 2], [3, 0]])
    np.testing.assert_array_equal(a.labels, [0, 1, 0])


def test_align_errors_name_the_problem():
    rgb = _table(["v1", "v2"], [[1, 0], [0, 1]], [0, 1])
    with pytest.raises(FusionError, match="1 video.*one stream only.*v2"):
        align(rgb, _table(["v1"], [[1, 0]], [0]), ["a", "b"], ["a", "b"], "val")
    with pytest.raises(FusionError, match="different classes"):
        align(rgb, _table(["v1", "v2"], [[1, 0], [0, 1]], [0, 1], ("a", "c")), ["a", "b"], ["a", "c"], "val")
    with pytest.raises(FusionError, match="disagree on the labels"):
        align(rgb, _table(["v1", "v2"], [[1, 0], [0, 1]], [1, 1]), ["a", "b"], ["a", "b"], "val")
