"""rlx.report.refit: which runs stand in the paper's cells of a refit search, selection vs refit, the header line."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from report_runs import frame, refit_search, run

from rlx.report.publish import write_report
from rlx.report.refit import (
    REFITTED,
    SELECTION_ONLY,
    SINGLE_RUN,
    paper_runs,
    protocol_text,
    refit_rows,
    refit_sources,
)
from rlx.report.selection import Selection, cell_results
from rlx.tracking import open_run

VAL = Selection("val/top1", "max")


def test_refit_sources_come_from_the_tags():
    runs = frame(*refit_search())
    sources = dict(zip(runs["run_id"], refit_sources(runs), strict=True))
    assert (sources["ra"], sources["rf"]) == ("ta", "fa")
    assert sources["fr"] == "fu"  # the selection fusion of the trials its two refits are of
    assert {sources[r] for r in ("ta", "tb", "fa", "fu", "na")} == {""}


def test_paper_runs_put_each_refit_in_place_of_its_group():
    runs = paper_runs(frame(*refit_search()), VAL).set_index("run_id")
    assert sorted(runs.index) == ["fr", "na", "ra", "rf"]  # ta, tb, fa, fu: replaced by their groups' refits
    assert runs.loc[["ra", "rf", "fr", "na"], "protocol"].tolist() == [REFITTED] * 3 + [SELECTION_ONLY]
    assert runs.loc[["ra", "rf", "fr", "na"], "selection_trials"].tolist() == [2, 1, 1, 1]
    # A refit has no validation data: it ranks by its selected run's value; its test numbers are its own.
    assert runs.loc[["ra", "fr"], "metric:val/top1"].tolist() == [0.90, 0.95]
    assert runs.loc[["ra", "fr"], "metric:test/top1"].tolist() == [0.85, 0.93]
    plain = frame(run("x", {"val/top1": 0.5}), run("y", {"val/top1": 0.5}, kind="run"))
    assert paper_runs(plain, VAL).equals(plain)  # no refits: as before, without the protocol columns
    single = paper_runs(frame(*refit_search(), run("s", {"val/top1": 0.5}, kind="run", group="")), VAL)
    assert single.set_index("run_id").loc["s", "protocol"] == SINGLE_RUN


def test_the_paper_cell_is_the_refit_of_the_tagged_trial_never_a_new_choice():
    runs = refit_search()
    runs[2] = run("ra", {"test/top1": 0.85}, {"model.dropout": 0.8}, group="rgb", kind="refit", refit_of="tb")
    cells = {(c.row.stream, c.row.arch): c.row for c in cell_results(paper_runs(frame(*runs), VAL), VAL)}
    row = cells["spatial", "two_branch"]
    assert (row.run_ids, row.refit_of, row.protocol, row.trials) == (("ra",), ("tb",), REFITTED, 2)
    assert row.metrics.top1.mean == pytest.approx(85.0)
    fused = cells["two-stream", "two_branch"]
    assert (fused.run_ids, fused.refit_of, fused.rgb_weights) == (("fr",), (), (0.45,))  # fu fused ta, not tb
    assert cells["spatial", "nonlocal"].protocol == SELECTION_ONLY


def test_refit_rows_show_the_selection_beside_the_refit():
    rows = refit_rows(frame(*refit_search()), VAL, lambda run_id: None)
    got = [(r.stream, r.arch, r.status, r.selection_run, r.refit_run) for r in rows]
    assert got == [
        ("spatial", "nonlocal", SELECTION_ONLY, "na", None),
        ("spatial", "two_branch", REFITTED, "ta", "ra"),
        ("temporal", "two_branch", REFITTED, "fa", "rf"),
        ("two-stream", "two_branch", REFITTED, "fu", "fr"),
    ]
    nl, rgb, _, fused = rows
    assert (rgb.selection_value, rgb.selection.top1.mean, rgb.refit.top1.mean) == pytest.approx((90.0, 70.0, 85.0))
    assert rgb.change == pytest.approx(15.0) and rgb.trials == 2 and rgb.group == "rgb"
    assert (fused.selection_value, fused.change, fused.weight_rgb) == pytest.approx((95.0, 3.0, 0.45))
    assert math.isnan(nl.refit.top1.mean) and math.isnan(nl.change)
    assert refit_rows(frame(run("x", {"val/top1": 0.5})), VAL, lambda run_id: None) == []


def test_protocol_text_says_where_the_numbers_come_from():
    text = protocol_text(frame(*refit_search()), VAL)
    assert text.startswith(
        "Numbers compared with the paper: refits on the whole official training split (`data.val_fraction` = 0) "
        "of the configurations selected on the validation hold-out (10 % of the training split, by val/top1)"
    )
    assert text.endswith(
        " 1 of 4 groups have no finished refit: their rows are the selection runs, marked "
        "`selection (no refit)` in `trained on`."
    )
    complete = [r for r in refit_search() if r["run_id"] != "na"]
    assert "no finished refit" not in protocol_text(frame(*complete), VAL)
    held = frame(run("a", {"val/top1": 0.5}, {"data.val_fraction": 0.1}))
    assert protocol_text(held, VAL).startswith(
        "Numbers compared with the paper: the configurations selected on the validation hold-out (by val/top1), "
        "as trained without it: on the official training split less the hold-out (`data.val_fraction` 10 %)"
    )
    whole = frame(run("a", {"test/top1": 0.5}, {"data.val_fraction": 0.0}, kind="run"))
    text = protocol_text(whole, Selection("test/top1", "max"))
    assert text.startswith("Numbers compared with the paper: trained on the whole official training split")
    assert "chosen on test (test/top1)" in text
    unlogged = frame(run("a", {"val/top1": 0.5}))
    assert "(`data.val_fraction` not logged)" in protocol_text(unlogged, VAL)


def _logged(uri: str, key: str, kind: str, tags: dict, params: dict, metrics: dict, parent: str) -> str:
    """A finished run as rlx.tune records it (tags, flat params, final metrics) in the MLflow store at `uri`."""
    run_ = open_run("rfx", key, parent_run_id=parent, tracking_uri=uri, tags={"rlx.kind": kind, **tags})
    base = {"data.dataset": "ucf101", "data.split": 1, "data.num_segments": 8, "model.insert_after": "conv5_2"}
    run_.log_params(base | {"model.arch": "two_branch", "train.seed": 0, "data.classes": "()"} | params)
    run_.log_metrics(metrics, step=1)
    run_.finish()
    return run_.run_id


@pytest.mark.slow  # about 6 s on a 2-core VM: a real MLflow store (its tables) and a written report
def test_a_refit_search_read_from_mlflow_into_the_written_report(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    p = open_run("rfx", "search-rfx", tracking_uri=uri, tags={"rlx.kind": "search"}).run_id
    rgb, flow = {"data.modality": "rgb"}, {"data.modality": "flow"}
    held, full = {"data.val_fraction": 0.1}, {"data.val_fraction": 0.0}
    ta = _logged(uri, "ta", "trial", {"rlx.group": "rgb"}, rgb | held, {"val/top1": 0.9, "test/top1": 0.7}, p)
    fa = _logged(uri, "fa", "trial", {"rlx.group": "flow"}, flow | held, {"val/top1": 0.8, "test/top1": 0.75}, p)
    ra = _logged(uri, "ra", "refit", {"rlx.group": "rgb", "rlx.refit_of": ta}, rgb | full, {"test/top1": 0.85}, p)
    rf = _logged(uri, "rf", "refit", {"rlx.group": "flow", "rlx.refit_of": fa}, flow | full, {"test/top1": 0.8}, p)
    two = {"data.modality": "two_stream"}
    fused = {"fusion/weight_rgb": 0.45, "val/top1": 0.95, "test/top1": 0.9}
    pair = {"rlx.fusion.rgb_run": ta, "rlx.fusion.flow_run": fa, "rlx.group": "pair"}
    fu = _logged(uri, "fu", "fusion", pair, two | held, fused, p)
    pair_refit = {"rlx.group": "", "rlx.fusion.group": "pair", "rlx.fusion.rgb_run": ra, "rlx.fusion.flow_run": rf}
    fr = _logged(uri, "fr", "fusion_refit", pair_refit, two | full, {"fusion/weight_rgb": 0.45, "test/top1": 0.93}, p)
    out = tmp_path / "out"
    write_report("rfx", uri, out)
    arch = pd.read_csv(out / "tables" / "architectures.csv").set_index("stream")
    assert arch.loc[["spatial", "temporal", "two-stream"], "runs"].tolist() == [ra, rf, fr]
    assert arch.loc[["spatial", "temporal", "two-stream"], "refit of (selected on val)"].tolist() == [ta, fa, fu]
    assert arch.loc["two-stream", "test top-1 over videos (%)"] == pytest.approx(93.0)
    refit = pd.read_csv(out / "tables" / "refit.csv")
    assert refit["selection run"].tolist() == [ta, fa, fu] and refit["refit run"].tolist() == [ra, rf, fr]
    md, page = (out / "README.md").read_text(), (out / "index.html").read_text()
    line = "Numbers compared with the paper: refits on the whole official training split"
    assert f"\n**Protocol.** {line}" in md and f"<strong>Protocol.</strong> {line}" in page
    assert "## Selection (hold-out) vs refit (full split)" in md and "no finished refit" not in md
