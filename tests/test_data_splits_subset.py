"""`data.classes`: a class subset relabelled 0..k-1 in original id order, the mapping kept with the index."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rlx.data import splits
from rlx.data.splits.index import Rows, to_frame


def single(labels: list[int], classes: list[str]) -> pd.DataFrame:
    rows = Rows()
    for i, label in enumerate(labels):
        rows.add(f"v{i}", f"v{i}.mp4", "train" if i % 2 else "test", [label])
    return to_frame(rows, classes, "folder", 1)


def test_names_and_ids_resolve_to_sorted_original_ids() -> None:
    classes = ["walk", "run", "jump", "sit"]
    assert splits.resolve_classes(["sit", "run"], classes) == [1, 3]
    assert splits.resolve_classes(["2", "walk"], classes) == [0, 2]
    with pytest.raises(ValueError, match=r"data.classes: 'swim' is not a class name nor an id 0..3 \(walk, run"):
        splits.resolve_classes(["swim"], classes)
    with pytest.raises(ValueError, match=r"data.classes: '4' is not a class name nor an id 0..3"):
        splits.resolve_classes(["4"], classes)
    with pytest.raises(ValueError, match=r"data.classes: '1' and 'run' are the same class 'run'"):
        splits.resolve_classes(["run", "1"], classes)
    with pytest.raises(ValueError, match=r"data.classes: '0' is ambiguous: the name of class 1 and the id of '1'"):
        splits.resolve_classes(["0"], ["1", "0"])
    assert splits.resolve_classes(["1"], ["0", "1"]) == [1]  # name and id agree


def test_single_label_subset_relabels_and_records_the_map() -> None:
    df = single([0, 3, 1, 3, 2, 0], ["walk", "run", "jump", "sit"])
    out = splits.select_classes(df, ["sit", "walk"])
    assert list(out["video_id"]) == ["v0", "v1", "v3", "v5"]
    assert list(out["label"]) == [0, 1, 1, 0] and [list(v) for v in out["labels"]] == [[0], [1], [1], [0]]
    assert out.attrs["classes"] == ["walk", "sit"] and out.attrs["class_map"] == [0, 3]
    assert out.attrs["format"] == "folder" and out["label"].dtype == df["label"].dtype
    # a subset of a subset maps back to the first index's ids
    again = splits.select_classes(out, ["sit"])
    assert list(again["label"]) == [0, 0] and again.attrs["class_map"] == [3]


def test_multi_label_subset_keeps_videos_with_a_kept_class_and_relabels_segments() -> None:
    rows = Rows(extra={"segments": [], "duration": []})
    for vid, labels in (("a", [0, 2]), ("b", [1]), ("c", []), ("d", [2, 3])):
        rows.add(vid, f"{vid}.mp4", "train", labels, multi_label=True)
        rows.extra["segments"].append([{"class": c, "start": 0.0, "end": 1.0} for c in labels])
        rows.extra["duration"].append(1.0)
    df = to_frame(rows, ["c0", "c1", "c2", "c3"], "charades", 1)
    out = splits.select_classes(df, [3, 2])
    assert list(out["video_id"]) == ["a", "d"]  # b has none of them, c has no label at all
    assert [list(v) for v in out["labels"]] == [[0], [0, 1]] and (out["label"] == -1).all()
    assert [[s["class"] for s in segs] for segs in out["segments"]] == [[0], [0, 1]]
    assert out.attrs["classes"] == ["c2", "c3"] and out.attrs["class_map"] == [2, 3]


def test_the_map_survives_write_and_read(tmp_path: Path) -> None:
    out = splits.select_classes(single([0, 1, 2, 1], ["a", "b", "c"]), ["c", "b"])
    back = splits.read_index(splits.write_index(out, tmp_path / "i.parquet"))
    assert back.attrs["classes"] == ["b", "c"] and back.attrs["class_map"] == [1, 2]
    assert list(back["label"]) == [0, 1, 0]
    assert splits.index_meta(tmp_path / "i.parquet")["class_map"] == [1, 2]
    assert (tmp_path / "i.classes.txt").read_text() == "0 b\n1 c\n"
