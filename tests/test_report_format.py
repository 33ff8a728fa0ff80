"""rlx.report.format: column labels, order and cell formats of the tables, on hand-built rows."""

from __future__ import annotations

import math
from typing import get_args

import numpy as np
from report_runs import result_row

from rlx.config import Arch
from rlx.eval.uncertainty import Comparison
from rlx.report.boundary import BoundaryFlag, BoundaryRow
from rlx.report.comparisons import ComparisonRow
from rlx.report.ensembles import ENSEMBLE_PARTNERS
from rlx.report.format import (
    ARCH_LABEL,
    WITHIN_NOISE,
    Kind,
    Record,
    boundary_record,
    cell_text,
    comparison_record,
    describe_range,
    family_record,
    fusion_record,
    leader_record,
    make_table,
    p_text,
    trained_on_text,
    verdict_text,
)
from rlx.report.per_class import FamilyRow
from rlx.report.per_run import FusionRow, LeaderRow
from rlx.report.rows import ARCH_ORDER, Metrics, Stat
from rlx.report.search import SearchedKey


def test_cell_text_by_kind():
    assert cell_text(None, None, Kind.PERCENT) == "–" and cell_text(math.nan, 1.0, Kind.PLAIN) == "–"
    assert cell_text(63.64, 2.06, Kind.PERCENT) == "63.6 ± 2.1"
    assert cell_text(63.64, math.nan, Kind.PERCENT) == "63.6"  # one seed: no spread shown
    assert cell_text(0.123456, None, Kind.PLAIN) == "0.1235"
    assert cell_text(0.123456, 0.012345, Kind.PLAIN) == "0.1235 ± 0.0123"
    assert cell_text(np.float32(0.5), None, Kind.PLAIN) == "0.5"
    assert cell_text(8, None, Kind.PERCENT) == "8"  # not a float: as it is
    assert cell_text("0123456789abcdef 0123456789xyz", None, Kind.RUN_IDS) == "01234567 01234567"
    assert cell_text("conv5_2", None, Kind.PLAIN) == "conv5_2"


def test_make_table_drops_empty_columns_and_display_merges_the_std():
    rows = [
        Record().add("name", "a").add_stat("acc (%)", Stat(80.0, 2.0)).add("empty", None).add_stat("x", Stat(1.5)),
        Record().add("name", "b").add_stat("acc (%)", Stat(70.0)).add("empty", None).add_stat("x", Stat(2.5)),
    ]
    for r in rows:
        r.add("runs", "0123456789 abcdefghij", Kind.RUN_IDS)
    table = make_table("slug", "title", "caption", rows)
    assert list(table.frame.columns) == ["name", "acc (%)", "acc (%) ±", "x", "runs"]  # x's std is NaN everywhere
    assert list(table.frame["acc (%) ±"].fillna(-1)) == [2.0, -1]
    shown = table.display()
    assert list(shown.columns) == ["name", "acc (%)", "x", "runs"]
    assert list(shown["acc (%)"]) == ["80.0 ± 2.0", "70.0"]
    assert list(shown["x"]) == ["1.5", "2.5"] and list(shown["runs"]) == ["01234567 abcdefgh"] * 2


def test_leader_record_labels_the_selection_metric():
    row = LeaderRow(
        "ucf101",
        1,
        "spatial",
        "all",
        1,
        "trial",
        "local",
        8,
        "conv5_2",
        {"optim.lr": "0.1"},
        "val/top1",
        70.0,
        Metrics(top1=Stat(99.0)),
        "3",
        "run-1",
        None,
    )
    record = leader_record(row)
    assert list(record.values)[8:12] == ["T", "insertion", "optim.lr", "val/top1 (%)"]
    assert record.values["insertion"] == "–" and record.kinds["val/top1 (%)"] is Kind.PERCENT
    assert record.values["test top-1 over videos (%)"] == 99.0 and "test top-1 over videos (%) ±" not in record.values
    loss = leader_record(LeaderRow(**(row.__dict__ | {"metric": "val/loss", "value": 0.25}))).kinds
    assert "val/loss" in loss and loss["val/loss"] is Kind.PLAIN


def test_boundary_record_describes_the_range():
    key = SearchedKey("model.dropout", "uniform", (0.5, 0.9), "nuisance")
    v = boundary_record(
        BoundaryRow("g1", key, "0.88", BoundaryFlag("yes: high edge", 0.95), "val/top1", 90.0, 2, "r", None)
    ).values
    assert (v["searched"], v["best value"], v["on boundary"], v["best val/top1 (%)"]) == (
        "uniform [0.5, 0.9]",
        "0.88",
        "yes: high edge",
        90.0,
    )
    assert describe_range("grid", (6, 8)) == "grid {6, 8}"
    assert describe_range("loguniform", (0.001, 0.1)) == "loguniform [0.001, 0.1]"


def test_fusion_and_family_labels():
    row = FusionRow(
        "charades",
        1,
        "all",
        "tsn",
        8,
        "conv5_2",
        "equal-config",
        "mAP",
        0.5,
        25.0,
        30.0,
        0.4,
        31.0,
        None,
        "r",
        "f",
        "x",
        None,
    )
    v = fusion_record(row).values
    assert (v["val mAP at it (%)"], v["test mAP at it (%)"], v["test mAP at the test-chosen weight (%)"]) == (
        25.0,
        30.0,
        31.0,
    )
    assert (v["insertion"], v["paper RGB weight (chosen on test)"]) == ("–", None)
    fam = FamilyRow(
        "synthetic", 1, "spatial", "local", 8, {"order": Stat(75.0, 35.0), "all": Stat(90.0)}, 2, 2, ("a", "b"), None
    )
    assert list(family_record(fam).values) == [
        "dataset",
        "classes",
        "split",
        "stream",
        "arch",
        "T",
        "order (%)",
        "order (%) ±",
        "order (%) CI low",
        "order (%) CI high",
        "all (%)",
        "all (%) ±",
        "all (%) CI low",
        "all (%) CI high",
        "test videos",
        "test videos left out",
        "test set",
        "trials",
        "seeds",
        "runs",
        "command",
    ]


def test_every_arch_and_ensemble_has_a_label_and_a_place():
    archs = set(get_args(Arch))  # the one list of archs
    ensembles = {f"tsn+{partner}" for partner in ENSEMBLE_PARTNERS}
    assert set(ARCH_LABEL) == archs | ensembles
    assert set(ARCH_ORDER) == archs | ensembles and set(ARCH_ORDER[: len(archs)]) == archs  # models, then ensembles


def test_cells_with_an_interval_and_p_values():
    assert cell_text(92.04, math.nan, Kind.PERCENT, (86.36, 96.59)) == "92.0 [86.4, 96.6]"
    assert cell_text(91.5, 0.71, Kind.PERCENT, (87.0, 95.0)) == "91.5 ± 0.7 [87.0, 95.0]"
    assert cell_text(92.0, None, Kind.PERCENT, (math.nan, math.nan)) == "92.0"  # no scores: no interval
    assert cell_text("0.031", None, Kind.P_VALUE) == "p = 0.031" and cell_text(1.0, None, Kind.P_VALUE) == "p = 1"
    assert p_text(9.5e-7) == "p < 0.001" and p_text(0.3123) == "p = 0.31"
    assert verdict_text(Comparison(3.0, -1.0, 7.0, 0.31, "paired bootstrap")) == WITHIN_NOISE == "within noise"
    assert verdict_text(Comparison(3.0, 1.0, 7.0, 0.049, "paired bootstrap")) == "A better (p < 0.05)"
    assert verdict_text(Comparison(-3.0, -7.0, -1.0, 0.01, "paired bootstrap")) == "B better (p < 0.05)"
    assert verdict_text(Comparison(3.0, -1.0, 7.0, 0.05, "paired bootstrap")) == WITHIN_NOISE  # p = alpha


def test_interval_columns_in_the_csv_merged_in_display():
    table = make_table("t", "T", "", [Record().add("name", "a").add_stat("acc (%)", Stat(80.0, 2.0, 75.25, 84.75))])
    assert list(table.frame.columns) == ["name", "acc (%)", "acc (%) ±", "acc (%) CI low", "acc (%) CI high"]
    assert table.display().to_dict("records") == [{"name": "a", "acc (%)": "80.0 ± 2.0 [75.2, 84.8]"}]
    bare = make_table("t", "T", "", [Record().add("name", "a").add_stat("acc (%)", Stat(80.0))])
    assert list(bare.frame.columns) == ["name", "acc (%)"] and bare.display()["acc (%)"][0] == "80.0"


def test_comparison_record():
    a = result_row(arch="two_branch", metrics=Metrics(top1=Stat(95.5, math.nan, 90.9, 98.9)), run_ids=("ra",))
    b = result_row(arch="local", metrics=Metrics(top1=Stat(71.6, math.nan, 62.5, 80.7)), run_ids=("rb",))
    cmp = Comparison(23.9, 15.9, 33.0, 9.5367e-07, "McNemar exact", (21, 0))
    record = comparison_record(ComparisonRow("architectures", "synthetic", 1, a, b, "test/top1", cmp))
    table = make_table("c", "C", "", [record])
    shown = table.display().iloc[0]
    assert shown["model A"] == "two-branch (spatial)" and shown["model B"] == "local only (spatial)"
    assert shown["A (%)"] == "95.5 [90.9, 98.9]" and shown["B (%)"] == "71.6 [62.5, 80.7]"
    assert shown["A - B (points)"] == "23.9 [15.9, 33.0]" and shown["p"] == "p < 0.001"
    assert shown["test"] == "McNemar exact (only A right 21, only B right 0)"
    assert shown["verdict"] == "A better (p < 0.05)" and shown["metric"] == "test top-1 over videos (%)"
    assert table.frame["p"][0] == "9.54e-07"  # 3 significant digits in the CSV


def test_trained_on_text_of_a_comparison():
    assert trained_on_text(None, None) is None  # a search without refits: no column
    assert trained_on_text("refit (full split)", "refit (full split)") == "refit (full split)"
    assert trained_on_text("refit (full split)", "selection (no refit)") == (
        "A: refit (full split); B: selection (no refit)"
    )
