"""mmaction2's video and rawframes lists (single- and multi-label) -> index rows, and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlx.data import probe, splits


def lists(tmp_path: Path, train: str, test: str) -> tuple[Path, Path]:
    (tmp_path / "train.txt").write_text(train)
    (tmp_path / "test.txt").write_text(test)
    return tmp_path / "train.txt", tmp_path / "test.txt"


def build(fmt: str, train: Path, test: Path, **kwargs) -> object:
    return splits.index_from(fmt, splits.FormatSources(train_list=train, test_list=test, **kwargs))


def test_video_list_single_label_names_from_ids(tmp_path: Path) -> None:
    train, test = lists(tmp_path, "a/x.mp4 2\r\nb/y.mp4 0\r\n", "a/z.mp4 2\n")
    df = build("mmaction-video", train, test)
    assert df.attrs["classes"] == ["0", "1", "2"]  # K = largest id + 1; ids' decimal text without a names file
    assert df.attrs["format"] == "mmaction-video" and df.attrs["media"] == "video"
    assert list(df["video_id"]) == ["a__x", "b__y", "a__z"]  # flat: they name rlx.data flow's folders
    assert list(df["label"]) == [2, 0, 2] and list(df["split"]) == ["train", "train", "test"]
    assert splits.describe_index(df) == "mmaction-video: 3 videos (train 2, test 1), 3 classes"


def test_video_list_multi_label_with_class_names(tmp_path: Path) -> None:
    train, test = lists(tmp_path, "v1.mp4 1 4 1\nv2.mp4 3\n", "v3.mp4 0 2\n")
    (tmp_path / "names.txt").write_text("open\nclose\npour\nstir\ntaste\n")
    df = build("mmaction-video", train, test, multilabel=True, class_names=tmp_path / "names.txt")
    assert df.attrs["classes"] == ["open", "close", "pour", "stir", "taste"]
    assert list(df["label"]) == [-1, -1, -1]
    assert [list(v) for v in df["labels"]] == [[1, 4], [3], [0, 2]]  # sorted distinct


def test_rawframes_list_reads_frame_dirs(tmp_path: Path) -> None:
    train, test = lists(tmp_path, "walk/v1 120 0\nrun/v2 80 1\n", "walk/v3/ 0 0\n")
    df = build("mmaction-rawframes", train, test)
    assert df.attrs["media"] == "rawframes"
    assert list(df["path"]) == ["walk/v1", "run/v2", "walk/v3"]
    assert list(df["video_id"]) == ["walk__v1", "run__v2", "walk__v3"]
    assert df["num_frames"].isna().all()  # the probe counts frames on disk
    multi = build("mmaction-rawframes", *lists(tmp_path, "d1 5 0 3\n", "d2 5 1\n"), multilabel=True)
    assert [list(v) for v in multi["labels"]] == [[0, 3], [1]] and multi.attrs["classes"] == ["0", "1", "2", "3"]


@pytest.mark.parametrize(
    ("fmt", "train", "multilabel", "message"),
    [
        ("mmaction-video", "a.mp4 1 2\n", False, r"train.txt:1: several labels in a single-label list"),
        ("mmaction-video", "a.mp4\n", False, r"train.txt:1: expected '<path> <label> ...': 'a.mp4'"),
        ("mmaction-video", "a.mp4 x\n", False, r"train.txt:1: 'x' is not an integer"),
        ("mmaction-video", "a.mp4 -1\n", True, r"train.txt:1: labels must be class ids >= 0"),
        ("mmaction-video", "b.mp4 0\nb.mp4 1\n", False, r"train.txt:2: path already listed at train.txt:1"),
        ("mmaction-video", "t.mp4 0\n", False, r"test.txt:1: path already listed at train.txt:1"),
        ("mmaction-rawframes", "d 10\n", False, r"train.txt:1: expected '<frame_dir> <total_frames> <label> ...'"),
        ("mmaction-rawframes", "d -3 1\n", False, r"train.txt:1: total_frames must be >= 0"),
        ("mmaction-rawframes", "d ten 1\n", False, r"train.txt:1: 'ten' is not an integer"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path: Path, fmt: str, train: str, multilabel: bool, message: str):
    test_line = "t 3 0\n" if fmt == "mmaction-rawframes" else "t.mp4 0\n"
    with pytest.raises(ValueError, match=message):
        build(fmt, *lists(tmp_path, train, test_line), multilabel=multilabel)


def test_class_names_file_errors(tmp_path: Path) -> None:
    train, test = lists(tmp_path, "a.mp4 2\n", "b.mp4 0\n")
    (tmp_path / "names.txt").write_text("x\ny\n")
    with pytest.raises(ValueError, match=r"train.txt:1: label 2 is not a class of .*names.txt \(2 names, ids 0..1\)"):
        build("mmaction-video", train, test, class_names=tmp_path / "names.txt")
    (tmp_path / "names.txt").write_text("x\n\ny\nz\n")
    with pytest.raises(ValueError, match=r"names.txt:3: a blank line before it would shift class ids"):
        build("mmaction-video", train, test, class_names=tmp_path / "names.txt")
    (tmp_path / "names.txt").write_text("x\ny\nx\n")
    with pytest.raises(ValueError, match=r"names.txt:3: class name already on line 1"):
        build("mmaction-video", train, test, class_names=tmp_path / "names.txt")
    with pytest.raises(FileNotFoundError, match="class names file not found"):
        build("mmaction-video", train, test, class_names=tmp_path / "none.txt")
    with pytest.raises(ValueError, match="the mmaction-video format needs a test list"):
        splits.index_from("mmaction-video", splits.FormatSources(train_list=train))


def test_the_real_mmaction2_clips_in_a_video_list(datasets_meta: Path, tmp_path: Path) -> None:
    """mmaction2's own test clips listed as mmaction2 lists them, indexed and probed."""
    train, test = lists(tmp_path, "mmaction2/demo.mp4 0\n", "mmaction2/test.avi 1\n")
    df = build("mmaction-video", train, test)
    probed = probe.probe_index(df, datasets_meta / "videos", workers=1)
    assert list(probed["num_frames"]) == [280, 164]  # PROVENANCE.md
    assert list(probed["status"]) == ["ok", "ok"]
