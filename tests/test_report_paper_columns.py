"""rlx.report.paper_columns: the columns of the rows compared with the paper, on hand-built rows."""

from __future__ import annotations

import math

import pytest
from report_runs import result_row, split_row

from rlx.report.format import PAPER_LABEL, REFIT_OF, TRAINED_ON, Kind, make_table
from rlx.report.paper import PaperValue
from rlx.report.paper_columns import (
    comparable_text,
    paper_inside_text,
    result_record,
    rgb_weight_text,
    split_record,
)
from rlx.report.rows import Metrics, Stat


def test_result_record_columns_in_order():
    paper = PaperValue("Table 4", "ucf101", 1, "spatial", "two_branch", 8, "conv5_2", "accuracy", 88.7)
    record = result_record(result_row(paper=paper))
    assert list(record.values) == [
        "dataset",
        "classes",
        "split",
        "stream",
        "arch",
        "T",
        "insertion",
        TRAINED_ON,  # None (left out of the table) without refits
        "test top-1 over videos (%)",
        "test top-1 over videos (%) ±",
        "test top-1 over videos (%) CI low",
        "test top-1 over videos (%) CI high",
        "test mean class acc (%)",  # beside top-1: the paper does not say which accuracy it reports
        "test mean class acc (%) ±",
        "test mean class acc (%) CI low",
        "test mean class acc (%) CI high",
        "test mAP (%)",
        "test mAP (%) ±",
        "test mAP (%) CI low",
        "test mAP (%) CI high",
        PAPER_LABEL["accuracy"],
        PAPER_LABEL["mAP"],
        "paper source",
        "paper inside our top-1 CI",
        "paper inside our mean class acc CI",
        "paper inside our mAP CI",
        "test top-5 (%)",
        "test top-5 (%) ±",
        "test top-5 (%) CI low",
        "test top-5 (%) CI high",
        "test videos",
        "test videos left out",
        "test set",
        "RGB weight",
        "trials",
        "seeds",
        "chosen",
        "95 % CI",
        "runs",
        REFIT_OF,
        "command",
    ]
    v = record.values
    top1, paper = v["test top-1 over videos (%)"], v[PAPER_LABEL["accuracy"]]
    assert (v["arch"], v["insertion"], top1, paper, v["paper source"]) == (
        "two-branch",
        "conv5_2",
        82.0,
        88.7,
        "Table 4",
    )
    assert v["test top-1 over videos (%) ±"] == pytest.approx(math.sqrt(8)) and math.isnan(v["test mAP (%)"])
    assert (v["RGB weight"], v["runs"], v["chosen"]) == (None, "a b", "model.dropout=0.5")
    assert record.kinds["test top-1 over videos (%)"] is Kind.PERCENT and record.kinds["runs"] is Kind.RUN_IDS
    assert record.kinds["T"] is Kind.PLAIN
    tsn = result_record(result_row(arch="tsn", paper=None)).values
    assert (tsn["arch"], tsn["insertion"], tsn[PAPER_LABEL["accuracy"]]) == ("TSN", "–", None)


def test_rgb_weight_text_of_cells_and_ensembles():
    two = result_row(stream="two-stream", rgb_weights=(0.5, 0.45, 0.5))
    assert rgb_weight_text(two) == "0.45, 0.5 (chosen on val)"
    assert result_record(two).values["RGB weight"] == "0.45, 0.5 (chosen on val)"
    ensemble = result_row(
        stream="two-stream",
        arch="tsn+nonlocal",
        chosen=None,
        members=(result_row(arch="tsn", rgb_weights=(0.45,)), result_row(arch="nonlocal", rgb_weights=())),
    )
    assert rgb_weight_text(ensemble) == "per model: tsn 0.45 (chosen on val); nonlocal ?"
    shown = result_record(ensemble).values
    assert (shown["arch"], shown["chosen"]) == ("TSN + R-LSTM", "equal-weight average of the two models' test logits")


def test_split_record_names_the_dataset_and_says_whether_comparable():
    v = split_record(split_row()).values
    assert (v["dataset"], v["arch"], v["insertion"], v["splits"], v["n splits"], v["comparable"]) == (
        "UCF-101",
        "TSN",
        "–",
        "1, 2, 3",
        3,
        "yes",
    )
    assert list(v)[:11] == [
        "dataset",
        "classes",
        "stream",
        "arch",
        "T",
        "insertion",
        TRAINED_ON,
        "splits",
        "n splits",
        "test top-1 over videos (%)",
        "test top-1 over videos (%) ±",
    ]
    assert comparable_text(split_row(splits=(1,))) == "no: 1 of 3 splits, not a 3-split mean"
    assert comparable_text(split_row(dataset="charades", splits=(1,), expected_splits=1)) == "yes"


def test_paper_inside_our_interval():
    paper = PaperValue("Table 4", "ucf101", 1, "spatial", "two_branch", 8, "conv5_2", "accuracy", 88.7)
    inside = result_row(paper=paper, metrics=Metrics(top1=Stat(88.0, math.nan, 86.0, 90.0)))
    assert paper_inside_text(inside, "test/top1") == "yes"
    below = Metrics(top1=Stat(80.0, math.nan, 78.0, 82.0), mean_class_acc=Stat(95.0, math.nan, 93.0, 97.0))
    assert paper_inside_text(result_row(paper=paper, metrics=below), "test/top1") == "no: above"
    assert paper_inside_text(result_row(paper=paper, metrics=below), "test/mean_class_acc") == "no: below"
    assert paper_inside_text(result_row(paper=paper, metrics=Metrics(top1=Stat(88.0))), "test/top1") == "no interval"
    assert paper_inside_text(inside, "test/mean_class_acc") is None  # the row has no mean class accuracy
    assert paper_inside_text(inside, "test/mAP") is None  # an accuracy is not checked against our mAP
    assert paper_inside_text(result_row(), "test/top1") is None
    v = result_record(result_row(paper=paper, metrics=below)).values
    assert (v["paper inside our top-1 CI"], v["paper inside our mean class acc CI"]) == ("no: above", "no: below")
    assert v["paper inside our mAP CI"] is None


def test_refit_rows_say_how_they_were_trained_and_which_selection_run_they_refit():
    refit = result_row(protocol="refit (full split)", refit_of=("trialA",), run_ids=("refitA",))
    fallback = result_row(protocol="selection (no refit)", run_ids=("t1", "t2"))
    table = make_table("t", "T", "", [result_record(refit), result_record(fallback)])
    assert list(table.frame[TRAINED_ON]) == ["refit (full split)", "selection (no refit)"]
    assert list(table.frame[REFIT_OF].fillna("")) == ["trialA", ""]
    assert table.kinds[REFIT_OF] is Kind.RUN_IDS
    assert list(table.frame.columns).index(TRAINED_ON) == list(table.frame.columns).index("insertion") + 1
    plain = make_table("t", "T", "", [result_record(result_row())])  # no refits: neither column
    assert TRAINED_ON not in plain.frame and REFIT_OF not in plain.frame
    assert split_record(split_row(protocol="refit (full split); selection (no refit)")).values[TRAINED_ON] == (
        "refit (full split); selection (no refit)"
    )
