"""What a run leaves out, on a UCF-format dataset with known bad files: the CSV, the metrics, the console lines,
the stop on an incomplete test set, and a repaired video taken back by the next run (no stale preparation)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from test_data_probe import write_annotations, write_clip, write_noise_clip

from rlx.config import DataConfig
from rlx.train import accounting
from rlx.train.accounting import IncompleteTestSet, excluded_metrics, read_excluded, read_status, summary_lines
from rlx.train.prepare import prepare_dataset

# Split 1 of UCF-101 tests groups 1-7 and trains on 8-25. With data.val_fraction 0.2 each class holds out
# ceil(0.2 * 3) = 1 training video, the one with the smallest id hash (tests/test_train_prepare.py):
# v_A_g09_c01 and v_B_g08_c01.
TRAIN = {
    "A/v_A_g08_c01.avi": "ok",
    "A/v_A_g09_c01.avi": "zero bytes",  # val
    "A/v_A_g10_c01.avi": "ok",
    "B/v_B_g08_c01.avi": "ok",  # val
    "B/v_B_g09_c01.avi": "truncated",
    "B/v_B_g10_c01.avi": "garbage",
}
TEST = {
    "A/v_A_g01_c01.avi": "ok",
    "A/v_A_g02_c01.avi": "missing",
    "B/v_B_g01_c01.avi": "ok",
    "B/v_B_g02_c01.avi": "ok",
}
FRAMES = 6  # write_clip draws gray levels 10·i: at most 25 frames
TRUNCATED_FROM = 24


def write_dataset(root: Path) -> tuple[Path, Path]:
    """(videos, annotations) of TRAIN + TEST, each video made as its label says."""
    videos = root / "videos"
    for rel, kind in {**TRAIN, **TEST}.items():
        path = videos / rel
        if kind == "ok":
            write_clip(path, FRAMES)
        elif kind == "zero bytes":
            path.write_bytes(b"")
        elif kind == "truncated":  # the first 70 % of a good clip: it still opens and plays that part
            data = write_noise_clip(path, TRUNCATED_FROM).read_bytes()
            path.write_bytes(data[: int(0.7 * len(data))])
        elif kind == "garbage":  # as long as a good clip, so a good copy over it keeps its size
            size = write_clip(path, FRAMES).stat().st_size
            path.write_bytes(np.random.default_rng(0).integers(0, 256, size, np.uint8).tobytes())
    return videos, write_annotations(root / "ucfTrainTestlist", list(TRAIN), list(TEST))


def config(root: Path, **overrides) -> DataConfig:
    keys = {"dataset": "ucf101", "videos": str(root / "videos"), "annotations": str(root / "ucfTrainTestlist")}
    return DataConfig(**keys, cache_dir=str(root / "cache"), val_fraction=0.2, **overrides)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("acc")
    write_dataset(root)
    return root


@pytest.fixture(scope="module")
def prepared(dataset) -> Path:
    return prepare_dataset(config(dataset, max_missing_test=1))


def test_every_bad_file_is_listed_with_its_subset_and_reason(prepared, dataset):
    excluded = read_excluded(prepared).set_index("video_id")
    assert excluded["subset"].to_dict() == {
        "v_A_g09_c01": "val",
        "v_B_g09_c01": "train",
        "v_B_g10_c01": "train",
        "v_A_g02_c01": "test",
    }
    assert set(excluded["status"]) == {"corrupt", "missing"}
    assert excluded.at["v_A_g02_c01", "status"] == "missing"
    assert "0 bytes" in excluded.at["v_A_g09_c01", "reason"]
    assert excluded.at["v_B_g09_c01", "reason"].startswith("truncated: ")
    assert excluded.at["v_B_g09_c01", "reason"].endswith(f"of the {TRUNCATED_FROM} frames its header declares")
    assert excluded.at["v_A_g02_c01", "path"] == str(dataset / "videos" / "A/v_A_g02_c01.avi")
    assert excluded_metrics(read_excluded(prepared)) == {
        "data/excluded/train": 2,
        "data/excluded/val": 1,
        "data/excluded/test": 1,
    }


def test_one_console_line_per_subset_names_the_first_videos(prepared):
    assert summary_lines(read_status(prepared), prepared) == [
        "train: 2 of 4 videos used; left out: 0 missing, 2 corrupt, 0 too short: "
        "B/v_B_g09_c01.avi (corrupt), B/v_B_g10_c01.avi (corrupt)",
        "val: 1 of 2 videos used; left out: 0 missing, 1 corrupt, 0 too short: A/v_A_g09_c01.avi (corrupt)",
        "test: 3 of 4 videos used; left out: 1 missing, 0 corrupt, 0 too short: A/v_A_g02_c01.avi (missing)",
        f"left-out videos with reasons: {prepared / 'excluded.csv'}",
    ]


def test_a_test_set_missing_more_than_allowed_stops_naming_the_videos_and_the_key(prepared, dataset):
    with pytest.raises(IncompleteTestSet) as err:
        prepare_dataset(config(dataset))  # the default: max_missing_test 0
    message = str(err.value)
    assert "the test set misses 1 of its 4 videos, more than data.max_missing_test=0" in message
    assert "A/v_A_g02_c01.avi (missing)" in message and str(prepared / "excluded.csv") in message
    assert "set data.max_missing_test=1 to test on the other 3" in message


def test_lines_name_three_videos_then_count_the_rest():
    index = pd.DataFrame(
        {
            "video_id": [f"v{i}" for i in range(6)],
            "path": [f"C/v{i}.avi" for i in range(6)],
            "subset": ["test"] * 6,
            "status": ["missing", "too_short", "corrupt", "missing", "missing", "ok"],
        }
    )
    lines = summary_lines(index, Path("/p"))
    assert lines[0] == "train: 0 of 0 videos used" and lines[1] == "val: 0 of 0 videos used"
    assert lines[2] == (
        "test: 1 of 6 videos used; left out: 3 missing, 1 corrupt, 1 too short: "
        "C/v0.avi (missing), C/v1.avi (too short), C/v2.avi (corrupt) and 2 more"
    )
    accounting.check_test_set(index, 5, Path("/p"))  # 5 allowed: no error
    with pytest.raises(IncompleteTestSet, match="misses 5 of its 6 videos, more than data.max_missing_test=4"):
        accounting.check_test_set(index, 4, Path("/p"))


def test_a_repaired_added_or_deleted_video_is_probed_again_by_the_next_run(tmp_path):
    videos, _ = write_dataset(tmp_path)
    cfg = config(tmp_path, max_missing_test=1)
    folder = prepare_dataset(cfg)
    assert set(read_excluded(folder)["video_id"]) == {"v_A_g09_c01", "v_B_g09_c01", "v_B_g10_c01", "v_A_g02_c01"}

    # Nothing changed: the folder is reused as it is.
    stamp = (folder / "index.parquet").stat().st_mtime_ns
    assert prepare_dataset(cfg) == folder and (folder / "index.parquet").stat().st_mtime_ns == stamp

    # Repair the zero-byte video, add the missing one, delete a good one, and restore the garbage one from a
    # "backup" that keeps its size and mtime (cp -p / rsync -a can): only the ctime shows that one.
    write_clip(videos / "A/v_A_g09_c01.avi", FRAMES)
    write_clip(videos / "A/v_A_g02_c01.avi", FRAMES)
    (videos / "B/v_B_g01_c01.avi").unlink()
    garbage = videos / "B/v_B_g10_c01.avi"
    before = garbage.stat()
    shutil.copyfile(write_clip(tmp_path / "backup.avi", FRAMES), garbage)
    os.utime(garbage, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert garbage.stat().st_size == before.st_size and garbage.stat().st_mtime_ns == before.st_mtime_ns

    with pytest.raises(IncompleteTestSet, match=r"misses 1 of its 4 videos.*: B/v_B_g01_c01.avi \(missing\);"):
        prepare_dataset(config(tmp_path))  # max_missing_test 0
    index = read_status(folder).set_index("video_id")
    assert index.loc[["v_A_g09_c01", "v_A_g02_c01", "v_B_g10_c01"], "status"].tolist() == ["ok"] * 3
    assert read_excluded(folder)[["video_id", "status"]].values.tolist() == [
        ["v_B_g09_c01", "corrupt"],
        ["v_B_g01_c01", "missing"],
    ]
    assert (folder / "index.parquet").stat().st_mtime_ns != stamp  # the index was rewritten, not only the CSV


def test_a_search_stops_before_ray_and_any_trial(dataset, prepared, tmp_path, monkeypatch, capsys):
    import ray  # noqa: PLC0415  (only this test needs Ray: to see that it was never started)

    from rlx.tune.search import SearchOptions, run_search  # noqa: PLC0415  (imports Ray)
    from rlx.tune.space import load_space  # noqa: PLC0415

    data = {"data.dataset": "ucf101", "data.videos": str(dataset / "videos")}
    data |= {"data.annotations": str(dataset / "ucfTrainTestlist"), "data.cache_dir": str(dataset / "cache")}
    fixed = {**data, "data.val_fraction": 0.2, "optim.epochs": 1, "optim.milestones": []}
    space_file = tmp_path / "space.yaml"
    space_file.write_text(
        yaml.safe_dump(
            {
                "name": "accounting",
                "description": "a search on a dataset whose test set misses a video",
                "fixed": fixed,
                "search": {"model.arch": {"grid": ["local"]}},
                "num_samples": 1,
                "resources": {"workers_per_trial": 1, "gpus_per_worker": 0, "cpus_per_worker": 1},
            }
        )
    )
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlruns.db'}")
    assert run_search(load_space(space_file, check_data=False), "plan", SearchOptions(storage=str(tmp_path))) == 2
    err = capsys.readouterr().err
    assert "error: group all: the test set misses 1 of its 4 videos, more than data.max_missing_test=0" in err
    assert not ray.is_initialized()
