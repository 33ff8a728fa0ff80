"""Size, mtime and ctime of every video (or rawframes folder) of an index: how a prepared index notices change.

A prepared index (`rlx.train.prepare`) records the fingerprint of every
video it probed; each later run stats them again (one `stat` per video, no
decoding) and re-probes only the videos whose fingerprint differs: added,
removed, repaired or replaced. mtime alone misses a copy that keeps the old
mtime (`cp -p`, `rsync -a` restoring a file from a backup); ctime cannot be
set by a copy, so it catches that too. A rawframes folder's times change
when frames are added or removed in it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from rlx.data.probe import resolve_source

COLUMNS = ("path", "size", "mtime_ns", "ctime_ns")
ABSENT = -1  # size and times of a video that is not there


def fingerprint(videos_root: Path, paths: Iterable[str]) -> pd.DataFrame:
    """One row per index path (the `COLUMNS`); `ABSENT` for a path with neither file nor rawframes folder."""
    rows = []
    for rel in paths:
        st = _stat(Path(videos_root) / rel)
        rows.append((rel, ABSENT, ABSENT, ABSENT) if st is None else (rel, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    out = pd.DataFrame(rows, columns=list(COLUMNS))
    return out.astype({"path": str, "size": np.int64, "mtime_ns": np.int64, "ctime_ns": np.int64})


def absent(current: pd.DataFrame) -> np.ndarray:
    """Boolean mask: the paths with nothing there."""
    return (current["size"] == ABSENT).to_numpy()


def changed(recorded: pd.DataFrame, current: pd.DataFrame) -> np.ndarray:
    """Boolean mask over `current`'s rows: fingerprint differs from the recorded one, or the path was not recorded."""
    before = recorded.drop_duplicates("path").set_index("path").reindex(current["path"])
    same = np.ones(len(current), dtype=bool)
    for column in COLUMNS[1:]:
        same &= before[column].to_numpy() == current[column].to_numpy()  # NaN (not recorded) never equals
    return ~same


def write_fingerprint(df: pd.DataFrame, path: Path) -> Path:
    """Write atomically (a reader sees the old file or the new one, never half of one)."""
    tmp = Path(path).with_name(f".{Path(path).name}.tmp-{os.getpid()}")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    return Path(path)


def read_fingerprint(path: Path) -> pd.DataFrame | None:
    """The recorded fingerprint, or None when none was recorded (a folder prepared before fingerprints)."""
    return pd.read_parquet(path) if Path(path).is_file() else None


def _stat(path: Path) -> os.stat_result | None:
    """One stat for a file that is there (the common case); else that of its rawframes folder, or None."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        source = resolve_source(path)
        try:
            return os.stat(source) if source is not None else None
        except FileNotFoundError:  # removed between the two calls
            return None
