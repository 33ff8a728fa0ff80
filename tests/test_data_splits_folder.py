"""The `folder` format: a tree of class subfolders -> index rows, split by list files or a seeded fraction."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from rlx.data import splits
from rlx.data.splits import folder


def tree(root: Path, layout: dict[str, list[str]], frames: bool = False) -> Path:
    """Class folders of empty video files (or of rawframes folders holding one img_00001.jpg)."""
    for cls, names in layout.items():
        for name in names:
            if frames:
                (root / cls / name).mkdir(parents=True)
                (root / cls / name / "img_00001.jpg").write_bytes(b"")
            else:
                (root / cls).mkdir(parents=True, exist_ok=True)
                (root / cls / name).write_bytes(b"")
    return root


def build(root: Path, **kwargs) -> object:
    return splits.index_from("folder", splits.FormatSources(root=root, **kwargs))


def test_classes_are_sorted_folders_and_ids_keep_the_class_folder(tmp_path: Path) -> None:
    root = tree(tmp_path / "t", {"walk": ["a.mp4", "b.avi"], "Run": ["a.mp4"], "jump": ["x.MKV"]})
    (root / "walk" / ".DS_Store").write_bytes(b"")  # hidden: ignored
    (tmp_path / "test.txt").write_text("walk/b.avi\njump/x.MKV 3\n")  # a trailing label token is not read
    df = build(root, test_list=tmp_path / "test.txt")
    assert df.attrs["classes"] == ["Run", "jump", "walk"]  # Python's sorted(): upper case first
    assert df.attrs["format"] == "folder" and df.attrs["media"] == "video"
    rows = {r.path: (r.video_id, r.split, r.label) for r in df.itertuples()}
    assert rows == {
        "Run/a.mp4": ("Run__a", "train", 0),
        "jump/x.MKV": ("jump__x", "test", 1),
        "walk/a.mp4": ("walk__a", "train", 2),  # same file name as Run/a.mp4, distinct id
        "walk/b.avi": ("walk__b", "test", 2),
    }
    assert splits.describe_index(df) == "folder: 4 videos (train 2, test 2), 3 classes"


def test_train_and_test_lists_must_cover_every_video_once(tmp_path: Path) -> None:
    root = tree(tmp_path / "t", {"a": ["1.mp4", "2.mp4"], "b": ["1.mp4"]})
    (tmp_path / "test.txt").write_text("a/1.mp4\n")
    (tmp_path / "train.txt").write_text("b/1.mp4\n")
    with pytest.raises(ValueError, match=r"1 videos are in neither .*train.txt nor .*test.txt, e.g. \['a/2.mp4'\]"):
        build(root, test_list=tmp_path / "test.txt", train_list=tmp_path / "train.txt")
    (tmp_path / "train.txt").write_text("b/1.mp4\na/2.mp4\n")
    df = build(root, test_list=tmp_path / "test.txt", train_list=tmp_path / "train.txt")
    assert dict(zip(df["path"], df["split"], strict=True)) == {
        "a/1.mp4": "test",
        "a/2.mp4": "train",
        "b/1.mp4": "train",
    }
    (tmp_path / "train.txt").write_text("b/1.mp4\n\na/1.mp4\n")
    with pytest.raises(ValueError, match=r"train.txt:3: also in the test list \(test.txt:1\): 'a/1.mp4'"):
        build(root, test_list=tmp_path / "test.txt", train_list=tmp_path / "train.txt")
    (tmp_path / "test.txt").write_text("a/1.mp4\nc/9.mp4\n")
    with pytest.raises(ValueError, match=r"test.txt:2: not a <class>/<video> under the class folder root: 'c/9.mp4'"):
        build(root, test_list=tmp_path / "test.txt")


def test_fraction_is_stratified_and_chosen_by_a_seeded_hash_of_the_path(tmp_path: Path) -> None:
    root = tree(tmp_path / "t", {"a": [f"{i}.mp4" for i in range(5)], "b": ["0.mp4", "1.mp4"], "c": ["0.mp4"]})
    df = build(root, test_fraction=0.3, seed=7)
    tests = df[df["split"] == "test"]
    # round-half-up of 0.3 x n: a 1.5 -> 2, b 0.6 -> 1, c 0.3 -> 0
    assert tests.groupby("label").size().to_dict() == {0: 2, 1: 1}
    ranked = sorted((f"a/{i}.mp4" for i in range(5)), key=lambda p: hashlib.sha1(f"7:{p}".encode()).digest())
    assert set(tests.loc[tests["label"] == 0, "path"]) == set(ranked[:2])
    # per video, not per draw: another class added moves no video of a/b/c
    tree(root, {"d": ["0.mp4", "1.mp4"]})
    again = build(root, test_fraction=0.3, seed=7)
    assert set(again.loc[again["split"] == "test", "path"]) - {"d/0.mp4", "d/1.mp4"} == set(tests["path"])
    assert set(build(root, test_fraction=0.3, seed=8)["split"]) == {"train", "test"}


def test_split_source_must_be_a_list_or_a_fraction(tmp_path: Path) -> None:
    root = tree(tmp_path / "t", {"a": ["1.mp4"]})
    with pytest.raises(ValueError, match="from a test list or a test fraction in \\(0, 1\\), not both or neither"):
        build(root)
    with pytest.raises(ValueError, match="not both or neither"):
        build(root, test_list=tmp_path / "x.txt", test_fraction=0.5)
    with pytest.raises(ValueError, match="needs a test list too"):
        build(root, train_list=tmp_path / "x.txt")


def test_rawframes_trees_rgb_and_flow_are_indexed_by_folder(tmp_path: Path) -> None:
    root = tree(tmp_path / "t", {"a": ["v1", "v2"], "b": ["v1"]}, frames=True)
    df = build(root, test_fraction=0.5)
    assert df.attrs["media"] == "rawframes"
    assert sorted(df["path"]) == ["a/v1", "a/v2", "b/v1"]
    assert sorted(df["video_id"]) == ["a__v1", "a__v2", "b__v1"]  # the ids of the videos a/v1.mp4, ...
    assert splits.describe_index(df).startswith("folder (rawframes): 3 videos")
    flow = tmp_path / "flow" / "a" / "v1"
    flow.mkdir(parents=True)
    (flow / "flow_x_00001.jpg").write_bytes(b"")
    (flow / "flow_y_00001.jpg").write_bytes(b"")
    assert list(build(tmp_path / "flow", test_fraction=0.5)["path"]) == ["a/v1"]


def test_bad_trees_are_errors_naming_the_path(tmp_path: Path) -> None:
    root = tree(tmp_path / "t", {"a": ["1.mp4", "notes.txt"]})
    with pytest.raises(ValueError, match=r"t/a/notes.txt: not a video \(.mp4, .avi"):
        build(root, test_fraction=0.5)
    os.remove(root / "a" / "notes.txt")
    (root / "a" / "frames").mkdir()
    with pytest.raises(ValueError, match=r"mixes video files \(a/1.mp4\) and rawframes folders \(a/frames\)"):
        build(root, test_fraction=0.5)
    (root / "b").mkdir()
    with pytest.raises(ValueError, match=r"t/b: class folder is empty"):
        folder.scan(root)
    (tmp_path / "u").mkdir()
    (tmp_path / "u" / "x.mp4").write_bytes(b"")
    with pytest.raises(ValueError, match=r"u: no class subfolders"):
        build(tmp_path / "u", test_fraction=0.5)
    with pytest.raises(FileNotFoundError, match="class folder root not found"):
        build(tmp_path / "nope", test_fraction=0.5)


def test_the_real_ucf101_clips_as_a_class_folder(datasets_meta: Path) -> None:
    """shared/datasets-meta/videos/ucf101 is a tree of 3 class folders with 7 real clips."""
    df = build(datasets_meta / "videos" / "ucf101", test_fraction=0.5, seed=0)
    assert df.attrs["classes"] == ["BabyCrawling", "Punch", "PushUps"]
    assert df.groupby("label").size().to_dict() == {0: 2, 1: 2, 2: 3}
    assert df[df["split"] == "test"].groupby("label").size().to_dict() == {0: 1, 1: 1, 2: 2}  # 1, 1, round(1.5)=2
    assert "PushUps__v_PushUps_g16_c04" in set(df["video_id"])


def test_ids_are_flat_and_a_collision_of_joined_ids_is_an_error(tmp_path: Path) -> None:
    root = tree(tmp_path / "t", {"a": ["b__c.mp4"], "a__b": ["c.mp4"]})
    with pytest.raises(ValueError, match=r"video ids must be unique; listed more than once: \['a__b__c'\]"):
        build(root, test_fraction=0.5)
