"""mmaction2's annotation lists (`VideoDataset`, `RawframeDataset`) -> index rows.

One list per split, paths relative to the data prefix (`--videos`):

    video list       some/path.mp4 3              multi-label: some/path.mp4 1 4 7
    rawframes list   some/frame_dir 120 3         multi-label: some/frame_dir 120 1 4 7

Labels are 0-based class ids. Class names come from a names file (one name per
line, line k = class k, as mmaction2's `label_map_*.txt`); without one they
are the ids' decimal text "0" .. "K-1", K = the largest listed id + 1.

  * single-label lists must have exactly one label a line; a line with more is
    an error that says to state multi-label (mmaction2's `multi_class=True`).
  * `total_frames` of a rawframes line must be a non-negative integer; it is
    checked, not stored: the probe counts the frames on disk, which is what
    sampling uses.
  * paths hold no spaces (mmaction2 splits lines on whitespace too).
  * `video_id` is the path without its suffix (video) or the frame_dir
    (rawframes), folders joined by "__" (`walk/v1.mp4` -> `walk__v1`), a flat
    name for `rlx.data flow`'s folders; a path listed twice, in one list or
    both, is an error.
"""

from __future__ import annotations

from pathlib import Path

from rlx.data.splits.index import Rows, nested_id
from rlx.data.splits.text import lines, malformed, parse_int


def parse(
    train_list: Path,
    test_list: Path,
    rawframes: bool,
    multilabel: bool,
    class_names: Path | None = None,
) -> tuple[Rows, list[str], str]:
    """Rows of both lists, the class names, and the media kind ("video" or "rawframes")."""
    names = read_names(class_names) if class_names is not None else None
    rows = Rows()
    seen: dict[str, tuple[Path, int]] = {}
    largest = -1
    for split_name, path in (("train", train_list), ("test", test_list)):
        for lineno, line in lines(path):
            rel, labels = _parse_line(line, path, lineno, rawframes, multilabel)
            if names is not None and max(labels, default=-1) >= len(names):
                why = (
                    f"label {max(labels)} is not a class of {class_names} ({len(names)} names, ids 0..{len(names) - 1})"
                )
                raise malformed(path, lineno, line, why)
            if rel in seen:
                other, other_line = seen[rel]
                raise malformed(path, lineno, line, f"path already listed at {other.name}:{other_line}")
            seen[rel] = (path, lineno)
            largest = max(largest, *labels)
            rows.add(
                nested_id(rel, strip_suffix=not rawframes), rel, split_name, sorted(set(labels)), multi_label=multilabel
            )
    if not rows.video_id:
        raise ValueError(f"{train_list} and {test_list} list no videos")
    classes = names if names is not None else [str(i) for i in range(largest + 1)]
    return rows, classes, "rawframes" if rawframes else "video"


def read_names(path: Path) -> list[str]:
    """Class names, one a line (line k = class k); blank lines are not allowed between names."""
    if not path.is_file():
        raise FileNotFoundError(f"class names file not found: {path}")
    names: list[str] = []
    for lineno, line in lines(path):
        if lineno != len(names) + 1:
            raise malformed(
                path, lineno, line, f"a blank line before it would shift class ids (expected line {len(names) + 1})"
            )
        if line in names:
            raise malformed(path, lineno, line, f"class name already on line {names.index(line) + 1}")
        names.append(line)
    if not names:
        raise ValueError(f"{path}: no class names")
    return names


def _parse_line(line: str, path: Path, lineno: int, rawframes: bool, multilabel: bool) -> tuple[str, list[int]]:
    tokens = line.split()
    head = 2 if rawframes else 1  # path [total_frames]
    expected = "'<frame_dir> <total_frames> <label> ...'" if rawframes else "'<path> <label> ...'"
    if len(tokens) <= head:
        raise malformed(path, lineno, line, f"expected {expected}")
    if rawframes and parse_int(tokens[1], path, lineno, line) < 0:
        raise malformed(path, lineno, line, "total_frames must be >= 0")
    labels = [parse_int(token, path, lineno, line) for token in tokens[head:]]
    if any(label < 0 for label in labels):
        raise malformed(path, lineno, line, "labels must be class ids >= 0")
    if not multilabel and len(labels) > 1:
        raise malformed(path, lineno, line, "several labels in a single-label list (state multi-label to read it)")
    return tokens[0].rstrip("/"), labels
