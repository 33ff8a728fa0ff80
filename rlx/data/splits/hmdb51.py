"""HMDB-51's official split files (`<class>_test_split<k>.txt`) -> index rows.

The files have quirks a naive parser gets wrong; each is handled where it is
parsed:

  * every line ends with a space before the LF: lines are stripped and split
    from the right, so the flag is the last token.
  * class names are prefixes of each other (climb / climb_stairs, kick /
    kick_ball, sword / sword_exercise, shoot_ball / shoot_bow / shoot_gun):
    the class is taken from the whole file name with an anchored regex,
    never by globbing `<class>*` or splitting on `_`.
  * video names contain `[ ] ( ) ! ; & # + @ ~`: they are kept verbatim and
    never used as glob patterns.
  * flag 0 (unused) rows are dropped; 1 -> train, 2 -> test.
"""

from __future__ import annotations

import re
from pathlib import Path

from rlx.data.splits.index import Rows
from rlx.data.splits.text import lines, malformed

OFFICIAL_SPLITS = (1, 2, 3)

_SPLIT_FILE = re.compile(r"^(?P<cls>.+)_test_split(?P<split>[123])\.txt$")
_FLAG_SPLIT = {"1": "train", "2": "test"}  # "0": not used in this split


def parse(root: Path, split: int) -> tuple[Rows, list[str]]:
    """Train and test rows of `split` from the files in `root`, and the class names (sorted file-name prefixes)."""
    found = [m for m in map(_SPLIT_FILE.match, sorted(p.name for p in root.iterdir())) if m]
    classes = sorted({m["cls"] for m in found})
    if not classes:
        raise FileNotFoundError(f"no HMDB-51 split files '<class>_test_split{split}.txt' in {root}")
    rows = Rows()
    seen: dict[str, str] = {}
    for label, cls in enumerate(classes):
        path = root / f"{cls}_test_split{split}.txt"
        for lineno, line in lines(path):
            tokens = line.rsplit(None, 1)
            if len(tokens) != 2 or tokens[1] not in ("0", "1", "2"):
                raise malformed(path, lineno, line, "expected '<video>.avi <0|1|2>'")
            video, flag = tokens
            if video in seen:
                raise malformed(path, lineno, line, f"video already listed for class {seen[video]!r}")
            seen[video] = cls
            if flag in _FLAG_SPLIT:
                rows.add(Path(video).stem, f"{cls}/{video}", _FLAG_SPLIT[flag], [label])
    return rows, classes
