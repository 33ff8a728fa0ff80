"""rlx.data.splits: official split files -> index; every quirk of the real files.

Fixture files (tests/fixtures/annotations) reproduce the quirks byte for byte;
tests marked by the `datasets_meta` fixture check the official counts on the
real files (RLX_DATASETS_META) and skip without them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rlx.data import splits
from rlx.data.splits import text

BASE_COLUMNS = ["video_id", "path", "split", "label", "labels", "num_frames", "fps", "status"]


@pytest.fixture(scope="module")
def annotations(fixtures_dir: Path) -> Path:
    return fixtures_dir / "annotations"


def copy_dataset(annotations: Path, dataset: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(annotations / dataset, tmp_path / dataset))


def replace_line(path: Path, lineno: int, new: str) -> None:
    """Replace 1-based line `lineno` keeping the file's line endings."""
    lines = path.read_bytes().split(b"\n")
    ending = b"\r" if lines[lineno - 1].endswith(b"\r") else b""
    lines[lineno - 1] = new.encode() + ending
    path.write_bytes(b"\n".join(lines))


def assert_base_dtypes(df: pd.DataFrame) -> None:
    assert list(df.columns[: len(BASE_COLUMNS)]) == BASE_COLUMNS
    assert df["label"].dtype == np.int32
    assert df["num_frames"].dtype == pd.Int32Dtype()
    assert df["fps"].dtype == np.float32
    assert df["num_frames"].isna().all() and df["fps"].isna().all()
    assert set(df["status"]) == {"unprobed"}
    assert set(df["split"]) <= {"train", "test"}
    assert all(isinstance(v, list) and all(isinstance(x, int) for x in v) for v in df["labels"])


# --------------------------------------------------------------------------- UCF-101 fixture


def test_ucf101_fixture_parses_crlf_and_takes_test_labels_from_folder(annotations: Path) -> None:
    df = splits.build_index("ucf101", annotations / "ucf101", split=1)
    assert_base_dtypes(df)
    assert list(df.columns) == BASE_COLUMNS
    assert df.attrs["dataset"] == "ucf101" and df.attrs["split"] == 1
    # classInd order, case-insensitive: Hammering before HammerThrow (sorted() would swap them).
    assert df.attrs["classes"] == ["Hammering", "HammerThrow", "HandstandPushups", "PushUps"]
    assert sorted(df.attrs["classes"]) != df.attrs["classes"]
    assert df["split"].value_counts().to_dict() == {"train": 7, "test": 4}
    test = df[df["split"] == "test"].set_index("video_id")
    assert test.loc["v_PushUps_g01_c01", "label"] == 3
    assert test.loc["v_PushUps_g01_c01", "labels"] == [3]
    assert not df["path"].str.contains("\r").any() and not df["video_id"].str.contains(r"\s").any()


def test_ucf101_handstand_folder_and_file_name_disagree_in_case(annotations: Path) -> None:
    df = splits.build_index("ucf101", annotations / "ucf101").set_index("video_id")
    row = df.loc["v_HandStandPushups_g08_c01"]
    assert row["path"] == "HandstandPushups/v_HandStandPushups_g08_c01.avi"
    assert row["label"] == 2  # from the folder HandstandPushups


def test_ucf101_lf_without_final_newline_parses_the_same(annotations: Path, tmp_path: Path) -> None:
    root = copy_dataset(annotations, "ucf101", tmp_path)
    for path in root.iterdir():
        path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").rstrip(b"\n") + b"  ")
    expected = splits.build_index("ucf101", annotations / "ucf101")
    pd.testing.assert_frame_equal(splits.build_index("ucf101", root), expected)


def test_ucf101_train_label_disagreeing_with_folder_names_file_and_line(annotations: Path, tmp_path: Path) -> None:
    root = copy_dataset(annotations, "ucf101", tmp_path)
    replace_line(root / "trainlist01.txt", 3, "HammerThrow/v_HammerThrow_g08_c01.avi 1")
    with pytest.raises(ValueError, match=r"trainlist01\.txt:3: label 1 disagrees with folder HammerThrow"):
        splits.build_index("ucf101", root)


@pytest.mark.parametrize(
    ("name", "lineno", "line", "message"),
    [
        ("trainlist01.txt", 2, "Hammering/v_Hammering_g08_c02.avi one", r"trainlist01\.txt:2: 'one' is not an integer"),
        ("trainlist01.txt", 4, "HandstandPushups/a.avi 3 extra", r"trainlist01\.txt:4: expected"),
        ("testlist01.txt", 1, "Juggling/v_Juggling_g01_c01.avi", r"testlist01\.txt:1: class folder 'Juggling'"),
        ("testlist01.txt", 2, "v_HammerThrow_g01_c01.avi", r"testlist01\.txt:2: expected"),
        ("testlist01.txt", 4, "PushUps/v_PushUps_g08_c01.avi", r"testlist01\.txt:4: video already listed at .*:6"),
        ("classInd.txt", 3, "4 HandstandPushups", r"classInd\.txt:3: class ids must run"),
    ],
)
def test_ucf101_malformed_line_names_file_and_line(
    annotations: Path, tmp_path: Path, name: str, lineno: int, line: str, message: str
) -> None:
    root = copy_dataset(annotations, "ucf101", tmp_path)
    replace_line(root / name, lineno, line)
    with pytest.raises(ValueError, match=message):
        splits.build_index("ucf101", root)


def test_ucf101_missing_files_are_named(annotations: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"trainlist02\.txt"):
        splits.build_index("ucf101", annotations / "ucf101", split=2)
    with pytest.raises(FileNotFoundError, match=r"classInd\.txt"):
        splits.build_index("ucf101", tmp_path)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        splits.build_index("ucf101", tmp_path / "nowhere")
    with pytest.raises(ValueError, match="splits 1, 2, 3"):
        splits.build_index("ucf101", annotations / "ucf101", split=4)
    with pytest.raises(ValueError, match="unknown dataset"):
        splits.build_index("kinetics", annotations / "ucf101")


def test_synthetic_has_no_official_files_to_index(annotations: Path) -> None:
    """rlx.config's "synthetic" is written in the UCF-101 layout and indexed as "ucf101", never by its own name."""
    with pytest.raises(ValueError, match=r"^unknown dataset 'synthetic'; expected one of ucf101, hmdb51, charades$"):
        splits.build_index("synthetic", annotations / "ucf101")


# --------------------------------------------------------------------------- HMDB-51 fixture


@pytest.mark.parametrize("split", [1, 2, 3])
def test_hmdb51_fixture_trailing_spaces_prefix_classes_and_unused(annotations: Path, split: int) -> None:
    df = splits.build_index("hmdb51", annotations / "hmdb51", split=split)
    assert_base_dtypes(df)
    assert df.attrs["classes"] == ["climb", "climb_stairs", "sword"]
    # 4 videos per class file, one flagged 0 (unused) per class in every split.
    assert len(df) == 9 and df["split"].value_counts().to_dict() == {"train": 6, "test": 3}
    # climb and climb_stairs keep their own videos: "Stairs_climb_..." belongs to climb_stairs.
    stairs = df[df["label"] == 1]
    assert stairs["path"].str.startswith("climb_stairs/").all()
    assert "climb_stairs/Stairs_climb_f_cm_np1_ba_med_0.avi" in set(stairs["path"])
    assert not df["path"].str.endswith(" ").any()


def test_hmdb51_special_characters_are_kept_verbatim(annotations: Path) -> None:
    df = splits.build_index("hmdb51", annotations / "hmdb51", split=1).set_index("video_id")
    row = df.loc["Kletter_[HD]_Tour;-)_climb_f_cm_np1_le_bad_1"]
    assert row["path"] == "climb/Kletter_[HD]_Tour;-)_climb_f_cm_np1_le_bad_1.avi"
    assert (row["split"], row["label"]) == ("train", 0)
    assert "climb/wall+rope@gym~_climb_f_cm_np1_ri_med_0.avi" not in set(df["path"])  # flag 0 in split 1


def test_hmdb51_bad_flag_and_missing_class_file(annotations: Path, tmp_path: Path) -> None:
    root = copy_dataset(annotations, "hmdb51", tmp_path)
    replace_line(root / "sword_test_split2.txt", 3, "Fechten!!_sword_u_cm_np2_fr_goo_0.avi 3 ")
    with pytest.raises(ValueError, match=r"sword_test_split2\.txt:3: expected"):
        splits.build_index("hmdb51", root, split=2)
    (root / "climb_stairs_test_split3.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"climb_stairs_test_split3\.txt"):
        splits.build_index("hmdb51", root, split=3)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="test_split1"):
        splits.build_index("hmdb51", empty)


# --------------------------------------------------------------------------- Charades fixture


def test_charades_fixture_labels_segments_and_ids(annotations: Path) -> None:
    df = splits.build_index("charades", annotations / "charades")
    assert_base_dtypes(df)
    assert list(df.columns) == BASE_COLUMNS + ["segments", "duration"]
    # Trailing space after "Lying on a bed" and no final newline in the classes file.
    assert df.attrs["classes"][4] == "Lying on a bed" and df.attrs["classes"][5] == "Someone is laughing"
    assert (df["label"] == -1).all()
    rows = df.set_index("video_id")
    # Numeric-looking ids stay strings: no lost zeros, no scientific notation.
    assert {"05124", "469E8", "00607", "150E6"} <= set(rows.index)
    assert rows.loc["00607", "path"] == "00607.mp4" and rows.loc["00607", "split"] == "test"
    # Quoted fields with commas did not shift columns; a repeated class is one label.
    assert rows.loc["05124", "labels"] == [2, 3]
    assert len(rows.loc["05124", "segments"]) == 3
    assert rows.loc["05124", "duration"] == 9.5
    # Empty actions field: kept, no labels.
    assert rows.loc["469E8", "labels"] == [] and rows.loc["469E8", "segments"] == []
    assert rows.loc["XYZ12", "labels"] == []


def test_charades_reversed_and_overlong_segments(annotations: Path) -> None:
    rows = splits.build_index("charades", annotations / "charades").set_index("video_id")
    # c005 18.00 10.00 -> swapped; c004 0.00 32.00 -> clipped to length 30.5;
    # c001 40.00 45.00 lies after the end: dropped from segments, kept as a label.
    assert rows.loc["R3V3R", "labels"] == [1, 4, 5]
    assert rows.loc["R3V3R", "segments"] == [
        {"class": 5, "start": 10.0, "end": 18.0},
        {"class": 4, "start": 0.0, "end": 30.5},
    ]


def test_charades_has_only_split_1_and_names_bad_lines(annotations: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="single official split"):
        splits.build_index("charades", annotations / "charades", split=2)
    root = copy_dataset(annotations, "charades", tmp_path)
    replace_line(root / "Charades_v1_train.csv", 5, "R3V3R,S04,Hallway,4,5,Yes,x,,y,c157 1.00 2.00,30.50")
    with pytest.raises(ValueError, match=r"Charades_v1_train\.csv:5: expected action"):
        splits.build_index("charades", root)
    replace_line(root / "Charades_v1_classes.txt", 3, "c007 Opening a door")
    with pytest.raises(ValueError, match=r"Charades_v1_classes\.txt:3: expected 'c002"):
        splits.build_index("charades", root)
    for name in ("Charades_v1_classes.txt", "Charades_v1_train.csv"):
        shutil.copy(annotations / "charades" / name, root / name)
    (root / "Charades_v1_test.csv").unlink()
    with pytest.raises(FileNotFoundError, match=r"Charades_v1_test\.csv"):
        splits.build_index("charades", root)


def test_charades_columns_found_by_header_name(annotations: Path, tmp_path: Path) -> None:
    root = copy_dataset(annotations, "charades", tmp_path)
    original = pd.read_csv(annotations / "charades" / "Charades_v1_train.csv", dtype=str, keep_default_na=False)
    original[list(reversed(original.columns))].to_csv(root / "Charades_v1_train.csv", index=False)
    expected = splits.build_index("charades", annotations / "charades")
    pd.testing.assert_frame_equal(splits.build_index("charades", root), expected)


# --------------------------------------------------------------------------- writing and reading


@pytest.mark.parametrize("dataset", ["ucf101", "hmdb51", "charades"])
def test_write_read_round_trip_keeps_schema_and_classes(annotations: Path, tmp_path: Path, dataset: str) -> None:
    df = splits.build_index(dataset, annotations / dataset)
    out = splits.write_index(df, tmp_path / "sub" / f"{dataset}.parquet")
    schema = pq.read_schema(out)
    assert schema.field("video_id").type == pa.string()
    assert schema.field("label").type == pa.int32()
    assert schema.field("labels").type == pa.list_(pa.int32())
    assert schema.field("num_frames").type == pa.int32()
    assert schema.field("fps").type == pa.float32()
    meta = json.loads(schema.metadata[b"rlx.index"])
    assert meta == {"dataset": dataset, "split": 1, "classes": df.attrs["classes"], "format": dataset, "media": "video"}
    classes_txt = tmp_path / "sub" / f"{dataset}.classes.txt"
    assert classes_txt.read_text().splitlines() == [f"{i} {c}" for i, c in enumerate(df.attrs["classes"])]
    assert splits.read_classes(out) == splits.read_classes(classes_txt) == df.attrs["classes"]
    back = splits.read_index(out)
    pd.testing.assert_frame_equal(back, df)
    assert back.attrs == df.attrs
    assert pq.read_table(out).column("num_frames").null_count == len(df)


def test_write_index_needs_the_class_list(annotations: Path, tmp_path: Path) -> None:
    df = splits.build_index("ucf101", annotations / "ucf101")
    df.attrs.clear()
    with pytest.raises(ValueError, match="class list"):
        splits.write_index(df, tmp_path / "x.parquet")
    with pytest.raises(FileNotFoundError, match="x.parquet"):
        splits.read_index(tmp_path / "x.parquet")


def test_describe_index(annotations: Path) -> None:
    text = splits.describe_index(splits.build_index("ucf101", annotations / "ucf101"))
    assert text == "ucf101 split 1: 11 videos (train 7, test 4), 4 classes"
    text = splits.describe_index(splits.build_index("charades", annotations / "charades"))
    assert text == "charades split 1: 7 videos (train 4, test 3), 6 classes, multi-label (2 videos without actions)"


# --------------------------------------------------------------------------- reading annotation text


def test_lines_are_numbered_from_1_stripped_and_blank_lines_skipped(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes("\ufeff1 A \r\n\r\n  2 B\r\n3 C".encode())  # BOM, CRLF, a blank line, no final newline
    assert text.lines(path) == [(1, "1 A"), (3, "2 B"), (4, "3 C")]
    with pytest.raises(FileNotFoundError, match=r"^annotation file not found: .*b\.txt$"):
        text.lines(tmp_path / "b.txt")


def test_malformed_names_file_and_line_and_cuts_the_line(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    assert str(text.malformed(path, 7, "x" * 200, "bad")) == f"{path}:7: bad: '{'x' * 120}'"
    with pytest.raises(ValueError, match=r"f\.txt:2: 'two' is not an integer: '1 two'$"):
        text.parse_int("two", path, 2, "1 two")
    with pytest.raises(ValueError, match=r"f\.txt:3: '1,5' is not a number: '1,5'$"):
        text.parse_float("1,5", path, 3)


# --------------------------------------------------------------------------- the real files

UCF_LINES = {1: (9537, 3783), 2: (9586, 3734), 3: (9624, 3696)}


@pytest.mark.parametrize("split", [1, 2, 3])
def test_real_ucf101_official_counts(datasets_meta: Path, split: int) -> None:
    df = splits.build_index("ucf101", datasets_meta / "ucf101", split=split)
    assert_base_dtypes(df)
    assert len(df) == 13320 and df["path"].is_unique and df["video_id"].is_unique
    counts = df["split"].value_counts()
    assert (counts["train"], counts["test"]) == UCF_LINES[split]
    classes = df.attrs["classes"]
    assert len(classes) == 101 and classes[0] == "ApplyEyeMakeup" and classes[100] == "YoYo"
    assert classes[34:37] == ["Hammering", "HammerThrow", "HandstandPushups"]
    assert sorted(df["label"].unique().tolist()) == list(range(101))
    # The folder always names the class (HandstandPushups holds v_HandStandPushups_* files).
    folder = df["path"].str.split("/").str[0]
    assert (folder.map(classes.index) == df["label"]).all()
    assert (df["label"] == 36).sum() == df["path"].str.contains("/v_HandStandPushups_").sum() == 128


def test_real_ucf101_sample_clips_sit_in_the_documented_splits(datasets_meta: Path) -> None:
    """videos/PROVENANCE.md lists the split of each sample clip: cross-check the parser."""
    documented = {
        "BabyCrawling/v_BabyCrawling_g01_c01.avi": ("test", "train", "train"),
        "BabyCrawling/v_BabyCrawling_g08_c01.avi": ("train", "test", "train"),
        "Punch/v_Punch_g08_c01.avi": ("train", "test", "train"),
        "PushUps/v_PushUps_g16_c04.avi": ("train", "train", "test"),
    }
    labels = {"BabyCrawling": 3, "Punch": 70, "PushUps": 71}
    for split in (1, 2, 3):
        df = splits.build_index("ucf101", datasets_meta / "ucf101", split=split).set_index("path")
        for path, where in documented.items():
            assert df.loc[path, "split"] == where[split - 1]
            assert df.loc[path, "label"] == labels[path.split("/")[0]]


@pytest.mark.parametrize("split", [1, 2, 3])
def test_real_hmdb51_official_counts(datasets_meta: Path, split: int) -> None:
    df = splits.build_index("hmdb51", datasets_meta / "hmdb51", split=split)
    assert_base_dtypes(df)
    assert df["split"].value_counts().to_dict() == {"train": 3570, "test": 1530}
    assert df["path"].is_unique and df["video_id"].is_unique
    classes = df.attrs["classes"]
    assert len(classes) == 51 and classes == sorted(classes)
    assert classes[:2] == ["brush_hair", "cartwheel"] and classes[-1] == "wave"
    per_class = df.groupby(["label", "split"]).size().unstack()
    assert (per_class["train"] == 70).all() and (per_class["test"] == 30).all()
    # Prefix classes keep their own videos.
    for name in ("climb", "climb_stairs", "kick", "kick_ball", "sword", "sword_exercise"):
        rows = df[df["label"] == classes.index(name)]
        assert len(rows) == 100 and rows["path"].str.startswith(f"{name}/").all()
    assert "brush_hair/Brushing_Her_Hair__[_NEW_AUDIO_]_UPDATED!!!!_brush_hair_h_cm_np1_fr_goo_0.avi" in set(df["path"])


def test_real_charades_counts_and_hand_checked_rows(datasets_meta: Path) -> None:
    df = splits.build_index("charades", datasets_meta / "charades")
    assert_base_dtypes(df)
    assert df["split"].value_counts().to_dict() == {"train": 7985, "test": 1863}
    assert df["video_id"].is_unique
    classes = df.attrs["classes"]
    assert len(classes) == 157
    assert classes[0] == "Holding some clothes" and classes[134] == "Lying on a bed"
    assert classes[156] == "Someone is eating something"
    empty = df[df["labels"].map(len) == 0]
    assert empty["split"].value_counts().to_dict() == {"train": 174, "test": 49}
    rows = df.set_index("video_id")
    # First train row: "c092 11.90 21.20;c147 0.00 12.60", length 24.83.
    assert rows.loc["46GP8", "labels"] == [92, 147]
    assert rows.loc["46GP8", "segments"] == [
        {"class": 92, "start": 11.9, "end": 21.2},
        {"class": 147, "start": 0.0, "end": 12.6},
    ]
    assert rows.loc["46GP8", "duration"] == 24.83
    # Ids a type-inferring reader mangles.
    assert rows.loc["00607", "split"] == "test" and rows.loc["469E8", "split"] == "train"
    assert rows.loc["150E6", "path"] == "150E6.mp4"
    # Reversed segment "c023 21.20 12.00" (length 30.38) is swapped.
    assert {"class": 23, "start": 12.0, "end": 21.2} in rows.loc["IOL8Q", "segments"]
    # 00SL4: "c071 18.00 10.00" lies wholly after length 8.96: label kept, segment dropped.
    assert 71 in rows.loc["00SL4", "labels"]
    assert all(seg["class"] != 71 for seg in rows.loc["00SL4", "segments"])
    segments = [seg for segs in df["segments"] for seg in segs]
    ends = np.array([seg["end"] for seg in segments])
    starts = np.array([seg["start"] for seg in segments])
    assert (ends > starts).all() and (starts >= 0).all()
    durations = np.repeat(df["duration"].to_numpy(), df["segments"].map(len).to_numpy())
    assert (ends <= durations).all()
