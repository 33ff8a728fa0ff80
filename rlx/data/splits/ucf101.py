"""UCF-101's official split files (classInd.txt, trainlist0k.txt, testlist0k.txt) -> index rows.

The files have quirks a naive parser gets wrong; each is handled where it is
parsed:

  * CRLF line endings, a final CRLF: lines are split with `splitlines()` and
    stripped, blank lines skipped (copies converted to LF parse the same).
  * test lines carry no label: the label comes from the folder via classInd.
  * classInd order is case-insensitive alphabetical (Hammering=35 before
    HammerThrow=36, JumpingJack before JumpRope); Python's `sorted()` gives a
    different order, so ids are always read from classInd, never recomputed.
  * folder `HandstandPushups` holds files named `v_HandStandPushups_*`: the
    class comes from the folder, never from the file name; `path` is kept
    exactly as listed (it is the on-disk layout of the official archive).
"""

from __future__ import annotations

from pathlib import Path

from rlx.data.splits.index import Rows
from rlx.data.splits.text import lines, malformed, parse_int

OFFICIAL_SPLITS = (1, 2, 3)


def parse(root: Path, split: int) -> tuple[Rows, list[str]]:
    """Train and test rows of `split` from the files in `root`, and the class names in classInd order."""
    class_ids = _read_classind(root / "classInd.txt")
    rows = Rows()
    seen: dict[str, tuple[Path, int]] = {}
    for split_name, name in (("train", f"trainlist0{split}.txt"), ("test", f"testlist0{split}.txt")):
        path = root / name
        for lineno, line in lines(path):
            tokens = line.split()
            if len(tokens) not in (1, 2):
                raise malformed(path, lineno, line, "expected '<Class>/<video>.avi [label]'")
            rel = tokens[0]
            folder, _, filename = rel.partition("/")
            if not filename or "/" in filename:
                raise malformed(path, lineno, line, "expected '<Class>/<video>.avi'")
            if folder not in class_ids:
                raise malformed(path, lineno, line, f"class folder {folder!r} is not in classInd.txt")
            label = class_ids[folder]
            # Train lines carry a 1-based label; it must agree with the folder.
            if len(tokens) == 2 and parse_int(tokens[1], path, lineno, line) - 1 != label:
                why = f"label {tokens[1]} disagrees with folder {folder} (classInd {label + 1})"
                raise malformed(path, lineno, line, why)
            if rel in seen:
                other, other_line = seen[rel]
                raise malformed(path, lineno, line, f"video already listed at {other.name}:{other_line}")
            seen[rel] = (path, lineno)
            rows.add(Path(filename).stem, rel, split_name, [label])
    return rows, sorted(class_ids, key=class_ids.__getitem__)


def _read_classind(path: Path) -> dict[str, int]:
    """classInd.txt `<1-based id> <Name>` -> {Name: 0-based id}; ids must be 1..K."""
    ids: dict[str, int] = {}
    for lineno, line in lines(path):
        tokens = line.split()
        if len(tokens) != 2:
            raise malformed(path, lineno, line, "expected '<id> <ClassName>'")
        number = parse_int(tokens[0], path, lineno, line)
        if number != len(ids) + 1:
            raise malformed(path, lineno, line, f"class ids must run 1, 2, 3, ...; expected {len(ids) + 1}")
        if tokens[1] in ids:
            raise malformed(path, lineno, line, f"class {tokens[1]!r} listed twice")
        ids[tokens[1]] = number - 1
    if not ids:
        raise ValueError(f"{path}: no classes")
    return ids
