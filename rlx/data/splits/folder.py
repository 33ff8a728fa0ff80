"""A folder of class subfolders (PyTorchVideo's `from_directory` layout) -> index rows.

    <root>/<class>/<video>.mp4              videos, or
    <root>/<class>/<video>/img_00001.jpg    rawframes (TSN / mmaction2 names; flow: flow_x_/flow_y_00001.jpg)

Classes are the subfolder names in Python's `sorted()` order (class id = rank).
An entry of a class folder is a video when it is a file with one of
`VIDEO_SUFFIXES`, a rawframes folder when it is a directory; a tree must hold
one kind only. Names starting with "." (.DS_Store, ._*) are ignored; any
other file is an error naming it, so nothing is dropped silently. A video's
`path` is its path under the root (`walk/clip01.mp4`), its `video_id` that
path without the suffix, folders joined by "__" (`walk__clip01`): unique even
when two classes hold `clip01`, and a flat name for the folder `rlx.data
flow` writes its flow into. A rawframes tree gets the same ids
(`walk/clip01/` -> `walk__clip01`), so RGB and flow trees fuse by id.

The train/test split comes from list files or from a seeded, stratified fraction:

  * `test_list` (and optionally `train_list`): one `<class>/<video>` path per
    line, as under the root (a trailing label token, as UCF-101's trainlist
    has, is not read: the class is the folder). Without `train_list`, every
    video not in the test list is train; with it, every video must be in
    exactly one list.
  * `test_fraction`: per class, the round(fraction x n) videos (halves up)
    with the smallest sha1 of `"<seed>:<path>"` are test. Per video, not per
    draw: adding a video or a class moves no other video between splits.
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

from rlx.data.splits.index import Rows, nested_id
from rlx.data.splits.text import lines, malformed

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ogv")


def parse(
    root: Path,
    test_list: Path | None = None,
    train_list: Path | None = None,
    test_fraction: float = 0.0,
    seed: int = 0,
) -> tuple[Rows, list[str], str]:
    """Rows of the tree under `root` with their split, the class names (sorted), and the media kind."""
    if test_list is None and train_list is not None:
        raise ValueError(f"a train list ({train_list}) needs a test list too")
    if (test_list is None) == (not 0.0 < test_fraction < 1.0):
        raise ValueError(
            "the folder format takes its split from a test list or a test fraction in (0, 1), not both or neither; "
            f"got test_list={test_list}, test_fraction={test_fraction}"
        )
    classes, videos, media = scan(root)
    if test_list is not None:
        split_of = _split_from_lists(videos, test_list, train_list)
    else:
        split_of = _split_by_fraction(videos, classes, test_fraction, seed)
    rows = Rows()
    for path, label in videos.items():
        rows.add(nested_id(path, strip_suffix=media == "video"), path, split_of[path], [label])
    return rows, classes, media


def scan(root: Path) -> tuple[list[str], dict[str, int], str]:
    """(class names, {relative path: class id} in sorted order, "video" | "rawframes") of a class tree."""
    if not root.is_dir():
        raise FileNotFoundError(f"class folder root not found: {root}")
    # os.scandir, not glob: real names hold '[' and ']' that glob reads as patterns.
    classes = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    if not classes:
        raise ValueError(f"{root}: no class subfolders (expected <root>/<class>/<video>)")
    stray = sorted(e.name for e in os.scandir(root) if not e.is_dir() and not e.name.startswith("."))
    if stray:
        raise ValueError(f"{root}: files beside the class folders: {stray[:3]} (expected only <class>/ folders)")
    videos: dict[str, int] = {}
    kinds: dict[str, str] = {}  # media kind -> an example path, to name both in a mixed-tree error
    for label, name in enumerate(classes):
        entries = sorted((e for e in os.scandir(root / name) if not e.name.startswith(".")), key=lambda e: e.name)
        if not entries:
            raise ValueError(f"{root / name}: class folder is empty")
        for entry in entries:
            rel = f"{name}/{entry.name}"
            if entry.is_dir():
                kinds.setdefault("rawframes", rel)
            elif Path(entry.name).suffix.lower() in VIDEO_SUFFIXES:
                kinds.setdefault("video", rel)
            else:
                raise ValueError(f"{root / rel}: not a video ({', '.join(VIDEO_SUFFIXES)}) nor a rawframes folder")
            videos[rel] = label
    if len(kinds) > 1:
        raise ValueError(f"{root}: mixes video files ({kinds['video']}) and rawframes folders ({kinds['rawframes']})")
    return classes, videos, next(iter(kinds))


def _split_from_lists(videos: dict[str, int], test_list: Path, train_list: Path | None) -> dict[str, str]:
    test = _read_list(test_list, videos)
    if train_list is None:
        return {path: "test" if path in test else "train" for path in videos}
    train = _read_list(train_list, videos)
    for path, lineno in train.items():
        if path in test:
            raise malformed(train_list, lineno, path, f"also in the test list ({test_list.name}:{test[path]})")
    unlisted = [path for path in videos if path not in test and path not in train]
    if unlisted:
        raise ValueError(
            f"{len(unlisted)} videos are in neither {train_list} nor {test_list}, e.g. {unlisted[:3]} "
            "(give only a test list to make every other video train)"
        )
    return {path: "test" if path in test else "train" for path in videos}


def _read_list(path: Path, videos: dict[str, int]) -> dict[str, int]:
    """{listed path: line number}; every line names a video of the tree, once."""
    listed: dict[str, int] = {}
    for lineno, line in lines(path):
        rel = line.split()[0].rstrip("/")
        if rel not in videos:
            raise malformed(path, lineno, line, "not a <class>/<video> under the class folder root")
        if rel in listed:
            raise malformed(path, lineno, line, f"already listed at line {listed[rel]}")
        listed[rel] = lineno
    return listed


def _split_by_fraction(videos: dict[str, int], classes: list[str], fraction: float, seed: int) -> dict[str, str]:
    split_of = {}
    for label in range(len(classes)):
        members = sorted((p for p, c in videos.items() if c == label), key=lambda p: _rank(seed, p))
        n_test = math.floor(fraction * len(members) + 0.5)
        split_of.update({p: "test" if i < n_test else "train" for i, p in enumerate(members)})
    return split_of


def _rank(seed: int, path: str) -> bytes:
    return hashlib.sha1(f"{seed}:{path}".encode()).digest()
