"""RunContext and run names: deterministic names, where a run's folder is."""

from __future__ import annotations

from pathlib import Path

from rlx.train.context import RunContext, default_storage, run_exists, run_name_for


def ctx(storage: str) -> RunContext:
    return RunContext(name="r-1", storage=storage, tracking_uri="sqlite:///x.db", experiment="e", dataset_dir="/d")


def test_run_names_come_from_the_config_not_the_clock():
    a = run_name_for({"model.arch": "tsn", "optim.lr": 0.1}, prefix="smoke")
    assert a == run_name_for({"optim.lr": 0.1, "model.arch": "tsn"}, prefix="smoke")  # key order irrelevant
    assert a.startswith("smoke-") and len(a) == len("smoke-") + 10
    assert a != run_name_for({"model.arch": "tsn", "optim.lr": 0.2}, prefix="smoke")


def test_run_folder_is_under_storage_or_a_temporary_folder_for_uris(tmp_path):
    assert ctx(str(tmp_path)).run_folder == tmp_path / "r-1"
    assert ctx(str(tmp_path)).checkpoint_root == str(tmp_path / "r-1")
    remote = ctx("s3://bucket/runs")
    assert remote.checkpoint_root == "s3://bucket/runs/r-1" and remote.run_folder.name == "r-1"
    assert not str(remote.run_folder).startswith("s3:")


def test_run_exists_and_default_storage(tmp_path, monkeypatch):
    assert not run_exists(str(tmp_path), "r-1")
    (tmp_path / "r-1").mkdir()
    assert run_exists(str(tmp_path), "r-1") and not run_exists("s3://bucket", "r-1")
    monkeypatch.setenv("RLX_STORAGE", "s3://bucket/x")
    assert default_storage() == "s3://bucket/x"
    monkeypatch.delenv("RLX_STORAGE")
    monkeypatch.chdir(tmp_path)
    assert default_storage() == str(Path(tmp_path).resolve() / "runs")
