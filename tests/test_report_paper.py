"""rlx.report.paper: which published number a row of ours is compared with."""

from __future__ import annotations

from rlx.report.paper import PAPER, paper_value


def test_a_row_matches_on_every_key():
    found = paper_value("ucf101", 1, "spatial", "two_branch", 8, "conv5_2", "top1")
    assert (found.table, found.value) == ("Table 3", 88.7)  # the first table that prints the default model
    assert paper_value("ucf101", 1, "spatial", "two_branch", 7, "conv5_2", "top1") is None  # no T = 7
    assert paper_value("ucf101", 2, "spatial", "two_branch", 8, "conv5_2", "top1") is None  # split 1 only
    assert paper_value("ucf101", 1, "spatial", "two_branch", 8, "conv5_2", "mAP") is None


def test_prefer_quotes_the_tables_of_the_report_first():
    for table in ("Table 4", "Table 5"):
        found = paper_value("ucf101", 1, "temporal", "two_branch", 8, "conv5_2", "top1", prefer=(table,))
        assert (found.table, found.value) == (table, 88.1)


def test_archs_without_rlstm_ignore_the_insertion_point():
    found = paper_value("ucf101", 1, "two-stream", "tsn", 8, "conv5_3", "top1")
    assert (found.table, found.value) == ("Table 2", 93.8)
    assert paper_value("ucf101", 1, "spatial", "two_branch", 8, "conv5_3", "top1").value == 87.7  # Table 5


def test_split_means_and_charades():
    assert paper_value("ucf101", None, "two-stream", "two_branch", 8, "conv5_2", "top1").value == 94.8  # Table 6
    assert paper_value("hmdb51", None, "two-stream", "tsn", 8, "conv5_2", "top1").table == "Table 7"
    assert paper_value("charades", 1, "spatial", "two_branch", 8, "conv5_2", "mAP").value == 28.8
    keys = {(p.table, p.dataset, p.split, p.stream, p.arch, p.num_segments, p.insert_after) for p in PAPER}
    assert len(keys) == len(PAPER)  # no row printed twice
