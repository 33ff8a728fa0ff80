"""Preparing a run's dataset: paths checked with the key named, the fixed validation hold-out, the cache."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from rlx.config import DataConfig
from rlx.train.prepare import DatasetNotFound, assign_subsets, prepare_dataset, resolve_paths


def index(labels_per_class: dict[int, int], test: int = 2) -> pd.DataFrame:
    rows = [
        {"video_id": f"c{c}_v{i}", "label": c, "split": "train"} for c, n in labels_per_class.items() for i in range(n)
    ]
    rows += [{"video_id": f"t{i}", "label": 0, "split": "test"} for i in range(test)]
    return pd.DataFrame(rows)


def test_hold_out_is_ceil_fraction_per_class_chosen_by_id_hash_and_never_from_test():
    out = assign_subsets(index({0: 10, 1: 3}), 0.25)
    val = out[out["subset"] == "val"]
    assert val.groupby("label").size().to_dict() == {0: 3, 1: 1}  # ceil(2.5) = 3, ceil(0.75) = 1
    assert (out.loc[out["split"] == "test", "subset"] == "test").all()
    # the same videos whatever the row order: the choice depends on the ids only
    shuffled = assign_subsets(index({0: 10, 1: 3}).sample(frac=1, random_state=3), 0.25)
    assert set(shuffled.loc[shuffled["subset"] == "val", "video_id"]) == set(val["video_id"])
    assert (assign_subsets(index({0: 4}), 0.0)["subset"] != "val").all()


def test_multilabel_rows_share_one_pool():
    df = index({-1: 8}, test=0)
    assert (assign_subsets(df, 0.25)["subset"] == "val").sum() == 2


def test_missing_paths_are_named_with_their_key(tmp_path):
    with pytest.raises(DatasetNotFound, match=r"data.videos is empty: set it to the ucf101 folder"):
        resolve_paths(DataConfig(dataset="ucf101"))
    with pytest.raises(DatasetNotFound, match=rf"dataset not found at {tmp_path}/nope \(data.videos\)"):
        resolve_paths(DataConfig(dataset="hmdb51", videos=str(tmp_path / "nope")))
    (tmp_path / "v").mkdir()
    with pytest.raises(DatasetNotFound, match=r"\(data.annotations\)"):
        resolve_paths(DataConfig(dataset="hmdb51", videos=str(tmp_path / "v"), annotations=str(tmp_path / "a")))
    with pytest.raises(DatasetNotFound, match="synthetic benchmark has RGB videos only"):
        resolve_paths(DataConfig(dataset="synthetic", modality="flow"))


def test_a_prepared_index_is_written_once_and_found_again(tmp_path):
    cfg = DataConfig(
        cache_dir=str(tmp_path), synthetic_videos_per_class=4, synthetic_frames=8, synthetic_size=32, val_fraction=0.34
    )
    folder = prepare_dataset(cfg)
    prepared = pd.read_parquet(folder / "index.parquet")
    assert set(prepared["subset"]) == {"train", "val", "test"} and (prepared["num_frames"] == 8).all()
    classes = (folder / "classes.txt").read_text().splitlines()
    assert len(classes) == prepared["label"].nunique() == 11
    source = json.loads((folder / "source.json").read_text())
    assert source["layout"] == "video" and source["root"].endswith("videos")
    stamp = (folder / "index.parquet").stat().st_mtime_ns
    assert prepare_dataset(cfg) == folder and (folder / "index.parquet").stat().st_mtime_ns == stamp
    other = prepare_dataset(DataConfig(**{**cfg.__dict__, "val_fraction": 0.5}))
    assert other != folder  # the hold-out is part of what a prepared folder is
