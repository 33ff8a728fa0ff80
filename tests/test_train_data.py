"""A run's batches: TrialData's shards and streams (in-process here; Ray Data in tests/e2e)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rlx.config import RunConfig
from rlx.data import splits
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
