"""A prepared index kept true to the files: what changed since it was probed is probed again, on every run.

A prepared folder (`rlx.train.prepare`) is named by its data keys, not by
the state of the videos, so it records the fingerprint of every video when
it probes them (`fingerprint.parquet`: size, mtime, ctime; see
`rlx.data.fingerprint`). Each run that uses the folder stats every video
again (no decoding: a stat per video) and re-probes those whose fingerprint
changed: a missing video that appeared, a corrupt one repaired or replaced, a
good one deleted. The index, the fingerprint and `excluded.csv` are then
rewritten in place, each file atomically, the index first, so a crash
between two writes leaves a fingerprint that still shows the change.

An index without a recorded fingerprint (given as `data.index`, probed by
`rlx.data index --probe` at some earlier time, or a folder prepared before
fingerprints existed) has its unprobed and bad rows probed, and every row
whose video is absent; its good rows are trusted.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from rlx.data import probe, splits
from rlx.data.fingerprint import absent, changed, fingerprint, read_fingerprint, write_fingerprint
from rlx.train.accounting import EXCLUDED_CSV, write_excluded

log = logging.getLogger(__name__)
FINGERPRINT = "fingerprint.parquet"


def probe_stale(
    index: pd.DataFrame, videos_root: Path, recorded: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """(index with its stale rows probed, the fingerprint taken before probing, how many rows were probed).

    Stale: fingerprint differs from `recorded`; without a record, not probed, not ok, or absent.
    """
    current = fingerprint(videos_root, index["path"].astype(str))  # before probing: a change meanwhile shows next time
    if recorded is not None:
        stale = changed(recorded, current)
    else:
        stale = (index["status"] != "ok").to_numpy() | index["num_frames"].isna().to_numpy() | absent(current)
    count = int(np.count_nonzero(stale))
    if count:
        why = "changed since they were probed" if recorded is not None else "not probed, bad or absent"
        log.info("probing %d of %d videos under %s (%s)", count, len(index), videos_root, why)
        index = probe.probe_rows(index, stale, videos_root, min_frames=1)
    return index, current, count


def record(folder: Path, index: pd.DataFrame, current: pd.DataFrame, videos_root: Path) -> None:
    """The fingerprint the index was probed at and the list of what it leaves out, into `folder`."""
    write_fingerprint(current, Path(folder) / FINGERPRINT)
    write_excluded(index, folder, videos_root)


def refresh(folder: Path, videos_root: Path) -> pd.DataFrame:
    """The prepared index of `folder`, its changed videos re-probed and the folder's files rewritten if any were."""
    folder = Path(folder)
    index = splits.read_index(folder / "index.parquet")
    recorded = read_fingerprint(folder / FINGERPRINT)
    index, current, probed = probe_stale(index, videos_root, recorded)
    if probed:
        _replace_index(index, folder)
    if probed or recorded is None or not (folder / EXCLUDED_CSV).is_file():
        record(folder, index, current, videos_root)
    return index


def _replace_index(index: pd.DataFrame, folder: Path) -> None:
    """Rewrite `folder/index.parquet` atomically: running trials read the old file or the new one."""
    tmp = folder / f".refresh-{uuid.uuid4().hex[:8]}"
    try:
        written = splits.write_index(index, tmp / "index.parquet")
        os.replace(written, folder / "index.parquet")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
