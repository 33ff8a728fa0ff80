"""Preparing a run's dataset: paths checked with the key named, the fixed validation hold-out, the cache."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from rlx.config import ConfigError, DataConfig
from rlx.data import splits
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


def folder_index(tmp_path, frames: bool = False):
    """A probed `folder`-format index of empty files (3 classes x 4 videos): prepare_dataset needs no probing."""
    root = tmp_path / "tree"
    for cls in ("jump", "run", "walk"):
        for i in range(4):
            path = root / cls / (f"v{i}" if frames else f"v{i}.mp4")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.mkdir() if frames else path.write_bytes(b"")
    df = splits.index_from("folder", splits.FormatSources(root=root, test_fraction=0.25))
    df = df.assign(num_frames=8, status="ok")
    return root, splits.write_index(df, tmp_path / "index.parquet")


def test_custom_reads_an_index_and_a_class_subset_is_relabelled_with_its_map(tmp_path):
    root, index_path = folder_index(tmp_path)
    base = {"dataset": "custom", "multilabel": False, "videos": str(root), "cache_dir": str(tmp_path)}
    with pytest.raises(DatasetNotFound, match=r"data.index is empty: data.dataset=custom trains on an index.parquet"):
        prepare_dataset(DataConfig(**base))
    full = prepare_dataset(DataConfig(**base, index=str(index_path)))
    subset = prepare_dataset(DataConfig(**base, index=str(index_path), classes=("walk", "0")))
    assert subset != full  # the classes are part of what a prepared folder is
    assert (subset / "classes.txt").read_text() == "jump\nwalk\n"
    assert json.loads((subset / "class_map.json").read_text()) == [
        {"id": 0, "source_id": 0, "name": "jump"},
        {"id": 1, "source_id": 2, "name": "walk"},
    ]
    prepared = splits.read_index(subset / "index.parquet")
    assert sorted(prepared["label"]) == [0] * 4 + [1] * 4 and prepared.attrs["class_map"] == [0, 2]
    assert {p.split("/")[0] for p in prepared["path"]} == {"jump", "walk"}
    assert set(prepared["subset"]) == {"train", "val", "test"}
    assert json.loads((subset / "source.json").read_text())["format"] == "folder"
    assert len(json.loads((full / "class_map.json").read_text())) == 3


def test_an_index_must_fit_the_dataset_and_its_label_kind(tmp_path):
    root, index_path = folder_index(tmp_path)
    cfg = DataConfig(dataset="ucf101", videos=str(root), index=str(index_path), cache_dir=str(tmp_path))
    with pytest.raises(ConfigError, match=r"data.dataset=ucf101 but .*index.parquet was indexed from format folder"):
        prepare_dataset(cfg)
    cfg = DataConfig(dataset="custom", multilabel=True, videos=str(root), index=str(index_path))
    with pytest.raises(ConfigError, match=r"data.multilabel=True but .*index.parquet is single-label"):
        prepare_dataset(cfg, cache_dir=tmp_path)
    cfg = DataConfig(dataset="custom", multilabel=False, videos=str(root), index=str(index_path), classes=("swim",))
    with pytest.raises(ConfigError, match=r"data.classes: 'swim' is not a class name nor an id 0..2 \(jump, run"):
        prepare_dataset(cfg, cache_dir=tmp_path)


def test_rawframes_trees_keep_their_class_nested_paths_for_rgb_and_flow(tmp_path):
    root, index_path = folder_index(tmp_path, frames=True)
    for modality in ("rgb", "flow"):
        cfg = DataConfig(dataset="custom", multilabel=False, videos=str(root), index=str(index_path), modality=modality)
        folder = prepare_dataset(cfg, cache_dir=tmp_path)
        assert json.loads((folder / "source.json").read_text())["layout"] == "frames"
        assert "walk/v3" in set(splits.read_index(folder / "index.parquet")["path"])
