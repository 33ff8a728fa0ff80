"""`model.init_from: group:<key>`: which finished trial of the earlier group a trial starts from."""

from __future__ import annotations

import pytest

from rlx.tracking import open_run
from rlx.train.init_from import InitFromError
from rlx.tune.init_group import source_trial


@pytest.fixture
def search(tmp_path):
    """A search with three finished RGB trials (arch x dropout) and one failed, under one parent run."""
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    parent = open_run("s", "search-s", tracking_uri=uri)
    trials = {}
    for name, arch, dropout, top1, status in (
        ("a", "local", 0.5, 0.40, "FINISHED"),
        ("b", "two_branch", 0.5, 0.70, "FINISHED"),
        ("c", "two_branch", 0.8, 0.60, "FINISHED"),
        ("d", "nonlocal", 0.5, 0.99, "FAILED"),
    ):
        run = open_run(
            "s",
            name,
            tracking_uri=uri,
            parent_run_id=parent.run_id,
            tags={"rlx.group": "stream=rgb", "rlx.kind": "trial"},
        )
        run.log_params({"model.arch": arch, "model.dropout": dropout})
        run.log_metrics({"val/top1": top1}, step=1)
        run.set_tags({"rlx.checkpoint": f"/ckpt/{name}"})
        run.finish(status)
        trials[name] = run.run_id
    return uri, parent.run_id, trials


def find(search, flat, searched=("model.arch", "model.dropout"), mode="max"):
    uri, parent, _ = search
    return source_trial("s", parent, "stream=rgb", flat, searched, "val/top1", mode, uri)


def test_the_trial_with_the_same_searched_values_is_the_source(search):
    source = find(search, {"model.arch": "two_branch", "model.dropout": 0.8, "data.modality": "flow"})
    assert (source.run_id, source.checkpoint, source.match) == (search[2]["c"], "/ckpt/c", "same searched values")
    assert source.note("stream=rgb") == f"group stream=rgb, run {search[2]['c']} (same searched values)"


def test_without_a_match_the_best_finished_trial_is_the_source_and_says_so(search):
    source = find(search, {"model.arch": "nonlocal", "model.dropout": 0.5})  # only the failed trial matches
    assert (source.run_id, source.match) == (search[2]["b"], "best of group")
    assert find(search, {"model.arch": "nonlocal", "model.dropout": 0.5}, mode="min").run_id == search[2]["a"]
    several = find(search, {"model.arch": "two_branch", "model.dropout": 0.3}, searched=("model.arch",))
    assert (several.run_id, several.match) == (search[2]["b"], "same searched values")  # best of the matches


def test_a_group_without_finished_trials_is_an_error_naming_it(search):
    uri, parent, _ = search
    with pytest.raises(InitFromError, match="group 'stream=gray' of search 's' has no finished trial"):
        source_trial("s", parent, "stream=gray", {}, (), "val/top1", "max", uri)
    with pytest.raises(InitFromError, match="group 'stream=rgb' of search 's' has no finished refit"):
        source_trial("s", parent, "stream=rgb", {}, (), "val/top1", "max", uri, kind="refit")
