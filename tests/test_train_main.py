"""`python -m rlx.train`: bad input fails in a second with the key or path named, before Ray starts."""

import sys

import pytest

from rlx.train.__main__ import main


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("data:\n  dataset: ucf101\n  videos: /nonexistent/ucf101/videos\n  annotations: /nonexistent/ann\n")
    return path


def test_unknown_key_exits_2_naming_it(config, capsys):
    assert main(["--config", str(config), "--set", "model.dropot=0.5"]) == 2
    assert "unknown config key 'model.dropot'" in capsys.readouterr().err
    assert "ray" not in sys.modules or not __import__("ray").is_initialized()


def test_bad_value_exits_2(config, capsys):
    assert main(["--config", str(config), "--set", "data.num_segments=0"]) == 2
    assert "data.num_segments: 0 must be >= 1" in capsys.readouterr().err


def test_missing_dataset_names_the_path(config, capsys):
    assert main(["--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "dataset not found at /nonexistent/ucf101/videos (data.videos)" in err and "README" in err


def test_missing_config_file(tmp_path, capsys):
    assert main(["--config", str(tmp_path / "nope.yaml")]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_existing_run_needs_resume(tmp_path, capsys, monkeypatch):
    cfg = tmp_path / "smoke.yaml"
    cfg.write_text("data:\n  dataset: hmdb51\n")
    (tmp_path / "runs" / "mine").mkdir(parents=True)
    assert main(["--config", str(cfg), "--name", "mine", "--storage", str(tmp_path / "runs")]) == 2
    assert "run mine already exists" in capsys.readouterr().err


def test_no_mlflow_needs_local(config, capsys):
    assert main(["--config", str(config), "--no-mlflow"]) == 2
    assert "--no-mlflow needs --local" in capsys.readouterr().err


def test_local_refuses_a_storage_uri(config, capsys):
    assert main(["--config", str(config), "--local", "--storage", "s3://bucket/runs"]) == 2
    assert "--local keeps checkpoints in a folder" in capsys.readouterr().err
