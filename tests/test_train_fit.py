"""`fit`: a whole run without Ray — resume, checkpoints, progress log, tracking, final evaluation.

The data is an in-memory `BatchSource` of small random clips (no decoding), the model the CPU-sized
backbone, so a run of a few epochs takes about a second.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from rlx.config import RunConfig
from rlx.train import progress
from rlx.train.checkpoint import FolderStore, load_state
from rlx.train.fit import Replica, fit, seed_everything
from rlx.train.loop import Normalizer

CLASSES = ["a", "b", "c"]
FLAT = {
    "data.num_segments": 2,
    "data.input_size": 32,
    "data.short_side": 32,
    "model.backbone": "resnetv2_small",
    "model.arch": "two_branch",
    "model.bn_mode": "batch",
    "model.dropout": 0.5,
    "optim.lr": 0.05,
    "optim.epochs": 3,
    "optim.milestones": [2],
    "optim.batch_size": 4,
    "train.keep_checkpoints": 2,
}


class MemorySource:
    """Fixed random clips: 8 train, 3 val, 3 test videos; batches depend only on (epoch, rank)."""

    class_names = CLASSES
    normalizer = Normalizer(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))

    def __init__(self, views: int = 2) -> None:
        rng = np.random.default_rng(0)
        self.videos = {
            subset: [
                (f"{subset}{i}", int(rng.integers(3)), rng.integers(0, 256, (2, 3, 32, 32), dtype=np.uint8))
                for i in range(n)
            ]
            for subset, n in (("train", 8), ("val", 3), ("test", 3))
        }
        self.views = views

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def rows(self, subset: str) -> list[dict]:
        return [{"video_id": v, "label": label} for v, label, _ in self.videos[subset]]

    def train_rows(self) -> list[dict]:
        return self.rows("train")

    def _batches(self, items, size: int, views: int = 0):
        for start in range(0, len(items), size):
            chunk = items[start : start + size]
            frames = np.stack([f for _, _, f in chunk])  # (B, T, C, H, W)
            if views:
                frames = np.repeat(frames[:, None], views, axis=1)  # (B, T, C, H, W) -> (B, V, T, C, H, W)
            yield {
                "frames": frames,
                "label": np.array([label for _, label, _ in chunk]),
                "video_id": np.array([v for v, _, _ in chunk], dtype=object),
            }

    def train_batches(self, epoch: int, rank: int, world: int):
        order = np.random.default_rng([epoch, 7]).permutation(len(self.videos["train"]))
        return self._batches([self.videos["train"][i] for i in order], 4)

    def val_batches(self, rank: int, world: int):
        return self._batches(self.videos["val"], 4)

    def final_batches(self, rank: int, world: int):
        return self._batches(self.videos["test"] + self.videos["val"], 4, self.views)


class ChattySource(MemorySource):
    """MemorySource whose first training batch of every epoch carries a decoder message."""

    def train_batches(self, epoch: int, rank: int, world: int):
        for i, batch in enumerate(super().train_batches(epoch, rank, world)):
            n = len(batch["label"])
            batch["decoder_messages"] = np.array([1 if i == 0 else 0] + [0] * (n - 1))
            batch["decoder_log"] = np.array([f"e{epoch}.avi: damaged" if i == 0 else ""] + [""] * (n - 1), dtype=object)
            yield batch


class ListTracker:
    def __init__(self) -> None:
        self.metrics: list[tuple[int, dict]] = []
        self.artifacts: list[tuple[str, str | None]] = []
        self.tags: dict = {}
        self.status = ""

    def log_metrics(self, metrics, step):
        self.metrics.append((step, dict(metrics)))

    def log_artifact(self, path, artifact_path=None):
        self.artifacts.append((Path(path).name, artifact_path))

    def set_tags(self, tags):
        self.tags.update(tags)

    def finish(self, status="FINISHED"):
        self.status = status


def cfg(**overrides) -> RunConfig:
    return RunConfig.from_flat({**FLAT, **overrides})


def test_a_run_trains_checkpoints_each_epoch_and_tests_at_the_end(tmp_path):
    tracker = ListTracker()
    store = FolderStore(tmp_path / "run", keep=2)
    final = fit(cfg(), MemorySource(), store, tracker, name="r")

    assert [step for step, m in tracker.metrics if "train/loss" in m] == [1, 2, 3]
    assert final["epoch"] == 3 and {"test/top1", "test/top5", "test/mean_class_acc", "val/top1"} <= final.keys()
    assert final["data/test_skipped"] == 0
    assert sorted(p.name for p in (tmp_path / "run").glob("epoch_*")) == ["epoch_0002", "epoch_0003"]  # keep=2
    state = load_state(tmp_path / "run" / "epoch_0003")
    assert state.epochs_done == 3 and state.metrics["test/top1"] == pytest.approx(final["test/top1"])
    assert (tmp_path / "run" / "progress.log").read_text().splitlines() == [f"epoch {e} started" for e in (1, 2, 3)]
    assert sorted(tracker.artifacts) == [
        ("confusion_matrix.png", "plots"),
        ("test.parquet", "scores"),
        ("val.parquet", "scores"),
    ]
    assert tracker.tags["rlx.checkpoint"] == str(tmp_path / "run" / "epoch_0003") and tracker.status == "FINISHED"
    # the learning rate follows the milestones: x0.1 after epoch 2
    lrs = [m["train/lr"] for _, m in tracker.metrics if "train/lr" in m]
    assert lrs == pytest.approx([0.05, 0.005, 0.005])


def test_a_resumed_run_gives_the_metrics_of_an_uninterrupted_one(tmp_path):
    two = cfg(**{"optim.epochs": 2, "optim.milestones": [1]})
    straight = fit(two, MemorySource(), FolderStore(tmp_path / "a"), name="a")
    fit(two, MemorySource(), FolderStore(tmp_path / "c"), name="c")
    for f in (tmp_path / "c" / "epoch_0002").iterdir():  # interrupted before its last checkpoint
        f.unlink()
    tracker = ListTracker()
    resumed = fit(two, MemorySource(), FolderStore(tmp_path / "c"), tracker, name="c")

    assert [step for step, m in tracker.metrics if "train/loss" in m] == [2]  # only the missing epoch ran
    for key in ("train/loss", "val/loss", "test/top1", "test/loss"):
        assert resumed[key] == pytest.approx(straight[key], rel=1e-6), key


def test_a_finished_run_is_tested_again_and_reports_once(tmp_path):
    first = fit(cfg(), MemorySource(), FolderStore(tmp_path / "r"), name="r")

    class CountingStore(FolderStore):
        reports: list = []

        def report(self, metrics):
            self.reports.append(dict(metrics))

    store = CountingStore(tmp_path / "r")
    again = fit(cfg(), MemorySource(), store, name="r")
    assert len(store.reports) == 1 and again["epoch"] == 3
    assert again["test/top1"] == pytest.approx(first["test/top1"]) and again["train/loss"] == first["train/loss"]


def test_the_same_seed_gives_the_same_run_and_another_seed_another(tmp_path):
    one = {"optim.epochs": 1, "optim.milestones": []}
    a = fit(cfg(**one), MemorySource(), FolderStore(tmp_path / "a"), name="a")
    b = fit(cfg(**one), MemorySource(), FolderStore(tmp_path / "b"), name="b")
    c = fit(cfg(**one, **{"train.seed": 1}), MemorySource(), FolderStore(tmp_path / "c"), name="c")
    assert a["train/loss"] == b["train/loss"] and a["test/loss"] == b["test/loss"]
    assert a["train/loss"] != c["train/loss"]


def test_replica_wraps_the_model_and_only_rank_0_writes(tmp_path, capsys):
    wrapped = []

    def wrap(model):
        wrapped.append(type(model).__name__)
        return model

    store = FolderStore(tmp_path / "r1")
    fit(cfg(**{"optim.epochs": 1}), MemorySource(), store, replica=Replica(rank=1, world=1, wrap_model=wrap))
    assert len(wrapped) == 1
    assert not (tmp_path / "r1").exists()  # rank 1 writes neither checkpoints nor the progress log
    assert capsys.readouterr().out == ""  # nor progress lines


def test_seed_everything_depends_on_seed_epoch_and_rank():
    draws = []
    for args in ((0, 1, 0), (0, 1, 0), (0, 2, 0), (0, 1, 1), (1, 1, 0)):
        seed_everything(*args)
        draws.append((torch.rand(1).item(), float(np.random.rand())))
    assert draws[0] == draws[1] and len(set(draws)) == 4


def test_rank_0_prints_heartbeats_inside_epochs_and_the_test(tmp_path, capfd, monkeypatch):
    monkeypatch.setattr(progress, "HEARTBEAT_S", 0.0)  # a line after every step
    fit(cfg(**{"optim.epochs": 1, "optim.milestones": []}), MemorySource(), FolderStore(tmp_path / "r"), name="hb")
    lines = capfd.readouterr().out.splitlines()
    assert [ln.split(",")[0] for ln in lines if " videos/s" in ln] == [
        "[hb] epoch 1/1: 4/8 videos",
        "[hb] epoch 1/1: 8/8 videos",
        "[hb] test: 4/6 videos",
        "[hb] test: 6/6 videos",
    ]
    assert any(ln.startswith("[hb] epoch 1/1: loss=") for ln in lines)


def test_decoder_messages_are_counted_per_epoch_and_written_to_the_runs_decoder_log(tmp_path, capfd):
    tracker = ListTracker()
    fit(cfg(**{"optim.epochs": 2}), ChattySource(), FolderStore(tmp_path / "run"), tracker, name="r")
    assert [m["data/decoder_messages"] for _, m in tracker.metrics if "train/loss" in m] == [1, 1]
    text = (tmp_path / "run" / "decoder.log").read_text().splitlines()
    assert text == ["epoch 1", "e0.avi: damaged", "epoch 2", "e1.avi: damaged"]
    assert "damaged" not in capfd.readouterr().out
