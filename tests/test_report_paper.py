"""rlx.report.paper: which published number a row of ours is compared with."""

from __future__ import annotations

from rlx.report.paper import PAPER, PAPER_METRICS, all_classes, paper_value, why_no_paper


def test_a_row_matches_on_every_key():
    found = paper_value("ucf101", 1, "spatial", "two_branch", 8, "conv5_2", "accuracy")
    assert (found.table, found.value) == ("Table 3", 88.7)  # the first table that prints the default model
    assert paper_value("ucf101", 1, "spatial", "two_branch", 7, "conv5_2", "accuracy") is None  # no T = 7
    assert paper_value("ucf101", 2, "spatial", "two_branch", 8, "conv5_2", "accuracy") is None  # split 1 only
    assert paper_value("ucf101", 1, "spatial", "two_branch", 8, "conv5_2", "mAP") is None


def test_prefer_quotes_the_tables_of_the_report_first():
    for table in ("Table 4", "Table 5"):
        found = paper_value("ucf101", 1, "temporal", "two_branch", 8, "conv5_2", "accuracy", prefer=(table,))
        assert (found.table, found.value) == (table, 88.1)


def test_archs_without_rlstm_ignore_the_insertion_point():
    found = paper_value("ucf101", 1, "two-stream", "tsn", 8, "conv5_3", "accuracy")
    assert (found.table, found.value) == ("Table 2", 93.8)
    assert paper_value("ucf101", 1, "spatial", "two_branch", 8, "conv5_3", "accuracy").value == 87.7  # Table 5


def test_split_means_and_charades():
    assert paper_value("ucf101", None, "two-stream", "two_branch", 8, "conv5_2", "accuracy").value == 94.8  # Table 6
    assert paper_value("hmdb51", None, "two-stream", "tsn", 8, "conv5_2", "accuracy").table == "Table 7"
    assert paper_value("charades", 1, "spatial", "two_branch", 8, "conv5_2", "mAP").value == 28.8
    keys = {(p.table, p.dataset, p.split, p.stream, p.arch, p.num_segments, p.insert_after) for p in PAPER}
    assert len(keys) == len(PAPER)  # no row printed twice


def test_what_the_paper_states_and_table_7s_tsn_is_not_this_model():
    assert {p.metric for p in PAPER} == set(PAPER_METRICS)  # "accuracy" (which one is unsaid) or Charades mAP
    assert {p.table for p in PAPER if p.metric == "mAP"} == {"Table 8"}
    tsn7 = paper_value("ucf101", None, "two-stream", "tsn", 8, None, "accuracy")
    assert (tsn7.table, tsn7.value) == ("Table 7", 94.0)
    assert "BN-Inception" in tsn7.source and "not a ResNet-101-v2 TSN" in tsn7.source  # labelled, whatever our T
    assert paper_value("hmdb51", None, "two-stream", "tsn", 3, None, "accuracy").not_this_model
    assert [p.table for p in PAPER if p.not_this_model] == ["Table 7", "Table 7"]  # every other row is this model
    assert paper_value("ucf101", 1, "spatial", "tsn", 8, None, "accuracy").source == "Table 2"  # the authors' TSN


def test_no_paper_numbers_off_the_papers_datasets_or_on_a_class_subset():
    assert all_classes("") and all_classes("[]") and all_classes(" () ") and not all_classes("['Archery']")
    assert why_no_paper("ucf101", "[]") is None and why_no_paper("charades", "") is None
    assert "custom is not one of the paper's datasets" in why_no_paper("custom", "")
    assert "synthetic is not one" in why_no_paper("synthetic", "")
    assert why_no_paper("ucf101", "['Archery', 'Biking']") == (
        "ucf101 on a class subset (['Archery', 'Biking']): the paper's numbers are on all classes"
    )
