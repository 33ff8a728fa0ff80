"""The best trial of a group keeps its final checkpoint in MLflow: artifacts when small, a pointer when large."""

from __future__ import annotations

import pytest

from rlx.tracking import RUN_NAME_TAG, RunRecord, list_artifacts, open_run, run_record, set_run_tags
from rlx.tune.best import CHECKPOINT_LOG_LIMIT_BYTES, best_trial, keep_best_checkpoint

GROUP = "data.modality=rgb"


def record(run_id: str, value: float | None, status: str = "FINISHED", name: str = "") -> RunRecord:
    tags = {RUN_NAME_TAG: name} if name else {}
    return RunRecord(run_id, status, tags, {}, {} if value is None else {"val/top1": value})


def test_best_trial_by_final_metric_and_mode():
    runs = [record("r1", 0.5), record("r2", 0.9), record("r3", 0.95, "FAILED"), record("r4", None), record("r0", 0.9)]
    assert best_trial(runs, "val/top1", "max").run_id == "r0"  # 0.9 twice, no names: the smaller run id
    assert best_trial(runs, "val/top1", "min").run_id == "r1"
    assert best_trial([record("r3", 0.95, "FAILED")], "val/top1", "max") is None
    assert CHECKPOINT_LOG_LIMIT_BYTES == 200 * 1024**2


def test_a_tie_goes_to_the_earlier_trial_whichever_run_id_it_drew():
    # Trials that ran at once finish in any order and draw random run ids: the trial's name (Tune's, ending in
    # its index in the search) decides, so a rerun of the same search chooses the same trial.
    runs = [record("a9", 0.8, name="smoke-g-1f2e3_00002"), record("f1", 0.8, name="smoke-g-1f2e3_00001")]
    assert best_trial(runs, "val/top1", "max").run_id == "f1"
    assert best_trial(runs[::-1], "val/top1", "max").run_id == "f1"
    assert best_trial([*runs, record("00", 0.7, name="smoke-g-1f2e3_00000")], "val/top1", "min").run_id == "00"


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    """A parent run with two finished trials of GROUP (checkpoint folders of 1000 bytes) and one of another group."""
    tmp_path = tmp_path_factory.mktemp("best")
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    parent = open_run("s", "search-s", tracking_uri=uri, tags={"rlx.kind": "search"})
    ids = {}
    for key, value, group in (("good", 0.9, GROUP), ("bad", 0.5, GROUP), ("other", 0.99, "data.modality=flow")):
        ckpt = tmp_path / "runs" / key / "epoch_0003"
        ckpt.mkdir(parents=True)
        (ckpt / "state.pt").write_bytes(b"x" * 1000)
        run = open_run(
            "s", key, parent_run_id=parent.run_id, tracking_uri=uri, tags={"rlx.kind": "trial", "rlx.group": group}
        )
        run.log_metrics({"val/top1": value}, step=3)
        run.set_tags({"rlx.checkpoint": str(ckpt)})
        run.finish()
        ids[key] = run.run_id
    return uri, parent.run_id, ids, tmp_path


def test_a_small_checkpoint_is_logged_as_artifacts_of_the_best_trial(search):
    uri, parent, ids, root = search
    kept = keep_best_checkpoint("s", parent, GROUP, "val/top1", "max", uri, limit=1000)
    assert (kept.run_id, kept.artifact, kept.reason) == (ids["good"], "checkpoint/epoch_0003", "")
    assert list_artifacts(ids["good"], "checkpoint", uri) == ["checkpoint/epoch_0003/state.pt"]
    tags = run_record(ids["good"], uri).tags
    assert tags["rlx.best_of_group"] == "true" and tags["rlx.checkpoint_artifact"] == "checkpoint/epoch_0003"
    assert "rlx.checkpoint_artifact" not in run_record(ids["bad"], uri).tags
    assert list_artifacts(ids["bad"], "", uri) == [] and list_artifacts(ids["other"], "", uri) == []


def test_a_large_checkpoint_gets_a_pointer_tag_instead(search):
    uri, parent, ids, root = search
    kept = keep_best_checkpoint("s", parent, GROUP, "val/top1", "min", uri, limit=999)
    assert kept.run_id == ids["bad"] and kept.artifact is None
    assert kept.reason == "1000 bytes (0.0 MiB) > the 999-byte limit"
    tags = run_record(ids["bad"], uri).tags
    assert tags["rlx.checkpoint_pointer"] == str(root / "runs" / "bad" / "epoch_0003")
    assert tags["rlx.checkpoint_not_logged"] == kept.reason and tags["rlx.best_of_group"] == "true"
    assert list_artifacts(ids["bad"], "", uri) == []


def test_a_remote_checkpoint_gets_a_pointer_and_an_empty_group_has_none(search):
    uri, parent, ids, root = search
    set_run_tags(ids["other"], {"rlx.checkpoint": "s3://bucket/runs/other/epoch_0003"}, uri)
    kept = keep_best_checkpoint("s", parent, "data.modality=flow", "val/top1", "max", uri)
    assert kept.artifact is None and kept.reason.startswith("not a folder on this machine")
    assert run_record(ids["other"], uri).tags["rlx.checkpoint_pointer"] == "s3://bucket/runs/other/epoch_0003"
    assert keep_best_checkpoint("s", parent, "data.modality=none", "val/top1", "max", uri) is None
