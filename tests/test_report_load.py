"""rlx.report.load on run records as rlx.tracking reads them back (MLflow replaced by a list): kinds and tags."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlx.report import load
from rlx.tracking import RunRecord

PARAMS = {"data.dataset": "ucf101", "data.split": "1", "data.modality": "rgb", "model.arch": "two_branch"}


def record(run_id: str, kind: str, tags: dict | None = None, status: str = "FINISHED", **params: str) -> RunRecord:
    return RunRecord(run_id, status, {"rlx.kind": kind, **(tags or {})}, PARAMS | params, {"test/top1": 0.5})


def test_refits_and_their_fusions_are_read_with_their_group_and_selected_run(monkeypatch):
    records = [
        record("s", "search"),
        record("t", "trial", {"rlx.group": "g"}, **{"data.val_fraction": "0.1"}),
        record("r", "refit", {"rlx.group": "g", "rlx.refit_of": "t"}, **{"data.val_fraction": "0.0"}),
        record("f", "fusion", {"rlx.group": "pair", "rlx.fusion.rgb_run": "t"}),
        record(
            "fr",
            "fusion_refit",
            {"rlx.group": "", "rlx.fusion.group": "pair", "rlx.fusion.rgb_run": "r", "rlx.fusion.flow_run": "rf"},
            **{"data.modality": "two_stream"},
        ),
        record("late", "refit", {"rlx.group": "h", "rlx.refit_of": "u"}, status="RUNNING"),
    ]
    monkeypatch.setattr(load, "experiment_runs", lambda name, uri: records)
    exp = load.load_experiment("x", "sqlite:///none", Path("."))
    runs = exp.runs.set_index("run_id")
    assert list(runs.index) == ["f", "fr", "r", "t"] and exp.unfinished == 1  # by kind, then run id
    assert runs.loc["r", ["kind", "group", "refit_of"]].tolist() == ["refit", "g", "t"]
    # A fusion refit's `rlx.group` is "": its group is the pair's, as its selection fusion's.
    assert runs.loc["fr", ["kind", "group", "stream", "rgb_run", "flow_run"]].tolist() == [
        "fusion_refit",
        "pair",
        "two-stream",
        "r",
        "rf",
    ]
    assert runs.loc["t", "refit_of"] == "" and runs.loc["r", "param:data.val_fraction"] == "0.0"
    assert list(exp.results["run_id"]) == ["t"] and list(exp.fusions["run_id"]) == ["f"]
    assert list(exp.selection_runs["run_id"]) == ["f", "t"]


def test_no_finished_result_run_is_an_error_naming_the_experiment(monkeypatch):
    monkeypatch.setattr(load, "experiment_runs", lambda name, uri: [record("r", "refit", status="FAILED")])
    with pytest.raises(load.ReportError, match="'x' at sqlite:///none has no finished runs"):
        load.load_experiment("x", "sqlite:///none", Path("."))
