"""A run's batches: TrialData's shards and streams (in-process here; Ray Data in tests/e2e)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from rlx.config import RunConfig
from rlx.data import splits
from rlx.data.pipeline import EpochSplitter
from rlx.train.data import TrialData, local_stream
from rlx.train.prepare import DataSource, prepare_dataset


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    cfg = RunConfig.from_flat(
        {
            "data.cache_dir": str(tmp_path_factory.mktemp("cache")),
            "data.synthetic_videos_per_class": 4,
            "data.synthetic_frames": 8,
            "data.synthetic_size": 32,
            "data.input_size": 32,
            "data.short_side": 32,
            "data.num_segments": 2,
            "data.val_fraction": 0.34,
            "optim.batch_size": 6,
            "eval.num_groups": 2,
            "eval.num_crops": 1,
        }
    )
    return TrialData.open(prepare_dataset(cfg.data), cfg, stream=local_stream)


def test_ranks_take_disjoint_shards_that_cover_the_epoch(trial):
    seen = [[v for b in trial.train_batches(0, rank, 2) for v in b["video_id"]] for rank in (0, 1)]
    assert not set(seen[0]) & set(seen[1])
    assert sorted(seen[0] + seen[1]) == sorted(r["video_id"] for r in trial.rows("train"))
    assert trial.batch_size(2) == 3 and trial.num_classes == 11


def test_local_batches_have_the_model_layout(trial):
    first = next(iter(trial.train_batches(0, 0, 1)))
    assert first["frames"].shape == (6, 2, 3, 32, 32) and first["frames"].dtype == np.uint8  # (B, T, C, S, S)
    final = [b for b in trial.final_batches(0, 1)]
    assert final[0]["frames"].shape[1:] == (2, 2, 3, 32, 32)  # (B, V, T, C, S, S): 2 groups x 1 crop
    covered = {v for b in final for v in b["video_id"]}
    assert covered == {r["video_id"] for s in ("test", "val") for r in trial.rows(s)}


def test_epochs_reshuffle_and_replay(trial):
    order = lambda epoch: [v for b in trial.train_batches(epoch, 0, 1) for v in b["video_id"]]  # noqa: E731
    assert order(0) == order(0) and order(0) != order(1)
    assert trial.normalizer.mean == pytest.approx((0.485, 0.456, 0.406))


def test_test_batches_hold_about_view_budget_views(trial):
    assert trial.spec("test").num_views == 2 and trial.test_batch_size() == 10  # eval.view_budget 20 / 2 views
    final = list(trial.final_batches(0, 1))
    assert [len(b["frames"]) for b in final[:-1]] == [10] * (len(final) - 1)


def test_charades_index_trains_on_its_actions(tmp_path):
    index = splits.build_index("charades", Path(__file__).parent / "fixtures" / "annotations" / "charades")
    index["subset"] = index["split"]
    cfg = RunConfig.from_flat({"data.dataset": "charades", "eval.num_clips": 10})
    data = TrialData(index, index.attrs["classes"], DataSource(str(tmp_path), "video"), cfg, stream=local_stream)
    # 4 train videos: 2 + 3 + 0 + 2 actions (rlx.data.pipeline.rows.action_rows)
    assert len(data.rows("train")) == 4 and len(data.train_rows()) == 7
    assert {r["action"] for r in data.train_rows()} == {0, 1, 2}
    per_video = RunConfig.from_flat({"data.dataset": "charades", "data.charades_train": "videos"})
    videos = TrialData(index, index.attrs["classes"], DataSource(str(tmp_path), "video"), per_video)
    assert [r["action"] for r in videos.train_rows()] == [-1, -1, -1]
    # the paper's test: 10 clips × 4 groups × 5 crops = 200 views, so one video per test batch
    assert data.spec("test").num_views == 200 and data.test_batch_size() == 1


def _counting(trial: TrialData) -> list[int]:
    """Wrap the trial's stream: the returned list grows by one per decoding pass that starts."""
    passes: list[int] = []
    stream = trial.stream

    def counted(*args):
        passes.append(1)
        return stream(*args)

    trial.stream = counted
    return passes


def _val_ids(trial: TrialData, rank: int = 0, world: int = 1) -> list[str]:
    return [v for b in trial.val_batches(rank, world) for v in b["video_id"]]


def test_validation_is_decoded_once_then_replayed_equal(trial):
    data = TrialData.open(prepare_dataset(trial.cfg.data), trial.cfg, stream=local_stream)
    passes = _counting(data)
    first = [{k: np.array(v) for k, v in b.items()} for b in data.val_batches(0, 1)]
    again = list(data.val_batches(0, 1))
    assert len(passes) == 1 and len(first) == len(again)
    for a, b in zip(first, again, strict=True):
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert _val_ids(data, 1, 2) and len(passes) == 2  # another shard is its own pass


def test_validation_over_budget_or_interrupted_is_decoded_again(trial):
    off = RunConfig.from_flat({**trial.cfg.to_flat(), "data.val_cache_mb": 0})
    data = TrialData.open(prepare_dataset(off.data), off, stream=local_stream)
    passes = _counting(data)
    assert _val_ids(data) == _val_ids(data) and len(passes) == 2  # 0: never kept
    batches = list(data.val_batches(0, 1))
    assert len(list(data._recorded(iter(batches), (0, 1), budget=1))) == len(batches)  # over budget: passed on,
    assert (0, 1) not in data._val_replay  # not kept
    whole = TrialData.open(prepare_dataset(trial.cfg.data), trial.cfg, stream=local_stream)
    passes = _counting(whole)
    next(iter(whole.val_batches(0, 1)))  # one batch taken, the pass abandoned
    ids = _val_ids(whole)
    assert len(passes) == 2 and sorted(ids) == sorted(r["video_id"] for r in whole.rows("val"))


def _epochs(data: TrialData, epochs: range) -> list[list[dict[str, np.ndarray]]]:
    return [
        [{k: np.array(v) for k, v in b.items() if k != "epoch"} for b in data.train_batches(e, 0, 1)] for e in epochs
    ]


def test_one_stream_over_epochs_gives_the_batches_of_a_stream_per_epoch(trial):
    flat = {**trial.cfg.to_flat(), "optim.epochs": 3, "optim.batch_size": 4, "data.final_read_ahead_mb": 0}
    per_epoch, streamed = (
        TrialData.open(prepare_dataset(trial.cfg.data), RunConfig.from_flat({**flat, "data.stream_epochs": k}))
        for k in (1, 3)
    )
    per_epoch.stream = streamed.stream = local_stream
    passes = _counting(streamed)
    want, got = _epochs(per_epoch, range(3)), _epochs(streamed, range(3))
    assert len(passes) == 1 and [len(b["frames"]) for b in got[0]] == [4, 4, 3]  # 11 rows
    for w, g in zip(want, got, strict=True):
        assert len(w) == len(g) and all(np.array_equal(a[k], b[k]) for a, b in zip(w, g, strict=True) for k in a)
    (again,) = _epochs(streamed, range(1, 2))  # a resumed epoch: a new stream from it, the same batches
    assert len(passes) == 2 and all(np.array_equal(a[k], b[k]) for a, b in zip(want[1], again, strict=True) for k in a)


def test_a_new_training_stream_starts_decoding_when_asked_for_before_its_first_batch_is_taken(trial):
    data = TrialData.open(prepare_dataset(trial.cfg.data), trial.cfg, stream=local_stream)
    decoded: list[int] = []

    def stream(*args):
        for batch in local_stream(*args):
            decoded.append(len(batch["frames"]))
            yield batch

    data.stream = stream
    batches = data.train_batches(0, 0, 1)  # nothing taken yet
    deadline = time.monotonic() + 10
    while not decoded and time.monotonic() < deadline:
        time.sleep(0.01)
    # the first batch read ahead, and at most the next one decoded and waiting (fit builds the model meanwhile)
    assert decoded[0] == 6 and len(decoded) <= 2
    assert sum(len(b["frames"]) for b in batches) == len(trial.rows("train"))


def test_final_pass_starts_with_the_last_epoch_and_gives_the_batches_of_a_pass_after_training(trial):
    flat = {**trial.cfg.to_flat(), "optim.epochs": 2}
    ahead, after = (
        TrialData.open(prepare_dataset(trial.cfg.data), RunConfig.from_flat({**flat, "data.final_read_ahead_mb": mb}))
        for mb in (256, 0)
    )
    ahead.stream = after.stream = local_stream
    passes = _counting(ahead)
    list(ahead.train_batches(0, 0, 1))
    assert len(passes) == 1  # one training stream over both epochs
    list(ahead.train_batches(1, 0, 1))
    assert len(passes) == 2  # the last epoch started the final pass too
    got, want = list(ahead.final_batches(0, 1)), list(after.final_batches(0, 1))
    assert len(passes) == 2 and len(got) == len(want) > 1
    assert all(
        a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a) for a, b in zip(got, want, strict=True)
    )
    list(ahead.final_batches(0, 1))  # asked again (a restarted test): a pass of its own
    assert len(passes) == 3


def test_epoch_splitter_cuts_straddling_batches_and_refuses_epochs_out_of_order():
    def batch(epochs: list[int]) -> dict[str, np.ndarray]:
        return {"epoch": np.asarray(epochs), "label": np.arange(len(epochs))}

    # epoch 1 has a single row, inside a batch that holds the end of 0 and the start of 2
    splitter = EpochSplitter(iter([batch([0, 0, 0]), batch([0, 1, 2]), batch([2, 2])]), range(3), batch_size=2)
    sizes = [[len(b["label"]) for b in splitter.epoch(e)] for e in range(3)]
    assert sizes == [[2, 2], [1], [2, 1]] and splitter.next_epoch is None
    fresh = EpochSplitter(iter([batch([0, 1])]), range(2), batch_size=2)
    with pytest.raises(ValueError, match="epoch 1 requested, but this stream can give only 0"):
        list(fresh.epoch(1))
    half = fresh.epoch(0)
    next(half)
    assert fresh.next_epoch is None  # left half-read: the stream serves nothing more
    # a stream out of order (Ray Data without preserve_order): a row of epoch 0 after epoch 1 began is refused
    shuffled = EpochSplitter(iter([batch([0, 0]), batch([1, 1]), batch([0, 1])]), range(2), batch_size=2)
    assert [len(b["label"]) for b in shuffled.epoch(0)] == [2]
    with pytest.raises(ValueError, match="rows of epoch 0 arrived while epoch 1 was being read"):
        list(shuffled.epoch(1))
