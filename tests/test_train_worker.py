"""The Ray Train side of `fit`: what each rank reports, and where checkpoints come back from.

Ray Train's report/get_checkpoint are replaced by recorders here (a real Ray
run of the worker is the end-to-end test in tests/e2e/test_train.py).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import ray.data
import ray.train
import torch
from torch import nn

from rlx.train import worker
from rlx.train.checkpoint import save_state
from rlx.train.context import RunContext


def store(tmp_path, storage=None):
    ctx = RunContext(name="r", storage=storage or str(tmp_path), tracking_uri="x", experiment="e", dataset_dir="/d")
    return worker.RayTrainStore(ctx)


def test_rank_0_reports_its_state_as_the_epochs_checkpoint_and_others_report_metrics_only(tmp_path, monkeypatch):
    reports = []

    def report(metrics, checkpoint=None, checkpoint_dir_name=None, **upload):
        files = sorted(p.name for p in Path(checkpoint.path).iterdir()) if checkpoint else None
        reports.append((metrics, files, checkpoint_dir_name, upload))
        if upload.get("delete_local_checkpoint_after_upload"):  # as Ray does once it has copied the folder
            shutil.rmtree(checkpoint.path)

    monkeypatch.setattr(ray.train, "report", report)
    model = nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[1])
    s = store(tmp_path)
    s.save(3, {"epoch": 3}, lambda folder: save_state(folder, model, optimizer, scheduler, 3))  # rank 0
    s.save(3, {"epoch": 3}, None)  # rank 1
    s.report({"epoch": 3, "test/top1": 0.5})
    # Rank 0's state outlives the report: Ray copies it to storage in the background, then deletes it.
    background = {
        "checkpoint_upload_mode": ray.train.CheckpointUploadMode.ASYNC,
        "delete_local_checkpoint_after_upload": True,
    }
    assert reports == [
        ({"epoch": 3}, ["state.pt"], "epoch_0003", background),
        ({"epoch": 3}, None, "epoch_0003", {}),
        ({"epoch": 3, "test/top1": 0.5}, None, None, {}),
    ]


def test_a_state_that_fails_to_write_reports_nothing_and_leaves_no_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(ray.train, "report", lambda *a, **k: pytest.fail("reported a checkpoint that was not written"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()

    def write(folder):
        (folder / "state.pt").write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        store(tmp_path).save(1, {"epoch": 1}, write)
    assert list((tmp_path / "tmp").iterdir()) == []


def test_latest_reads_the_checkpoint_ray_hands_back(tmp_path, monkeypatch):
    model = nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[1])
    save_state(tmp_path / "ckpt", model, optimizer, scheduler, 5, {"val/top1": 0.25})
    monkeypatch.setattr(ray.train, "get_checkpoint", lambda: None)
    assert store(tmp_path).latest() is None
    monkeypatch.setattr(ray.train, "get_checkpoint", lambda: ray.train.Checkpoint.from_directory(tmp_path / "ckpt"))
    state = store(tmp_path).latest()
    assert state.epochs_done == 5 and state.metrics == {"val/top1": 0.25}


def test_locations_and_folders_follow_the_storage(tmp_path):
    assert store(tmp_path).location(2) == f"{tmp_path}/r/epoch_0002"
    assert store(tmp_path).folder == tmp_path / "r"
    remote = store(tmp_path, "gs://bucket/runs")
    assert remote.location(2) == "gs://bucket/runs/r/epoch_0002" and remote.folder.name == "r"


def test_ray_data_keeps_block_order_and_stays_quiet():
    worker.configure_ray_data()
    context = ray.data.DataContext.get_current()
    assert context.execution_options.preserve_order  # the same seed gives the same batches
    assert not context.enable_progress_bars and not context.print_on_execution_start


def test_the_worker_sets_its_pytorch_threads_before_anything_runs(monkeypatch):
    # Ray's OMP_NUM_THREADS reaches only a PyTorch imported after Ray set it (not one a worker preloaded): the
    # thread count, part of a CPU run's numerics, is set explicitly from the config.
    calls = []

    class Started(Exception):
        pass

    def stop_here():
        raise Started

    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    monkeypatch.setattr(worker, "configure_ray_data", stop_here)
    context = {"name": "r", "storage": "/s", "tracking_uri": "x", "experiment": "e", "dataset_dir": "/d"}
    for flat, threads in (({"train.cpus_per_worker": 0.5}, 1), ({"train.cpus_per_worker": 0.5, "train.threads": 2}, 2)):
        with pytest.raises(Started):
            worker.train_fn_per_worker({"flat": flat, "context": context})
        assert calls.pop() == threads
