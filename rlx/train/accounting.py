"""What a run leaves out of its dataset, said on every run.

The probe (`rlx.data.probe`) marks videos missing, corrupt (truncated
included) or too short, and training leaves them out (`index_rows`). So that
no run shrinks its data silently:

- the prepared folder holds `excluded.csv` (video_id, subset, status, path,
  reason), which every MLflow run logs as the artifact `data/excluded.csv`
  beside the metrics `data/excluded/train`, `data/excluded/val` and
  `data/excluded/test` (`rlx.train.tracker`);
- the launcher prints `summary_lines`: one line per subset, with the first
  few names;
- `check_test_set` stops a run whose test set misses more than
  `data.max_missing_test` videos before anything trains, naming them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from rlx.data.probe import BAD_STATUSES

SUBSETS = ("train", "val", "test")
EXCLUDED_CSV = "excluded.csv"
CSV_COLUMNS = ("video_id", "subset", "status", "path", "reason")
FIRST = 3  # names shown per console line; the CSV has all of them
_COLUMNS = ("video_id", "path", "subset", "status", "probe_error")  # of index.parquet, what the accounting reads


class IncompleteTestSet(ValueError):
    """The test set misses more videos than `data.max_missing_test` allows; the message names them."""


def excluded_videos(index: pd.DataFrame, videos_root: str | Path) -> pd.DataFrame:
    """The videos training and testing leave out (`CSV_COLUMNS`), in index order; path is absolute."""
    bad = index[index["status"].isin(BAD_STATUSES)]
    errors = bad["probe_error"] if "probe_error" in bad else pd.Series(None, index=bad.index, dtype=object)
    reasons = [e if isinstance(e, str) and e else s for e, s in zip(errors, bad["status"], strict=True)]
    return pd.DataFrame(
        {
            "video_id": bad["video_id"].astype(str).to_list(),
            "subset": bad["subset"].astype(str).to_list(),
            "status": bad["status"].astype(str).to_list(),
            "path": [str(Path(videos_root) / p) for p in bad["path"]],
            "reason": reasons,
        },
        columns=list(CSV_COLUMNS),
    )


def write_excluded(index: pd.DataFrame, folder: Path, videos_root: str | Path) -> Path:
    """`<folder>/excluded.csv` (a header only when nothing is excluded), replaced atomically."""
    out = Path(folder) / EXCLUDED_CSV
    tmp = out.with_name(f".{EXCLUDED_CSV}.tmp-{os.getpid()}")
    excluded_videos(index, videos_root).to_csv(tmp, index=False)
    os.replace(tmp, out)
    return out


def read_excluded(folder: Path) -> pd.DataFrame:
    return pd.read_csv(Path(folder) / EXCLUDED_CSV, dtype=str, keep_default_na=False)


def excluded_metrics(excluded: pd.DataFrame) -> dict[str, int]:
    """`data/excluded/<subset>`: videos left out of each subset."""
    counts = excluded["subset"].value_counts()
    return {f"data/excluded/{name}": int(counts.get(name, 0)) for name in SUBSETS}


def read_status(folder: Path) -> pd.DataFrame:
    """The columns of a prepared `index.parquet` the accounting reads (not the labels nor segments)."""
    path = Path(folder) / "index.parquet"
    names = set(pq.read_schema(path).names)
    return pq.read_table(path, columns=[c for c in _COLUMNS if c in names]).to_pandas()


def summary_lines(index: pd.DataFrame, folder: Path) -> list[str]:
    """One line per subset for the console, and where the full list is when a video is left out.

    e.g. `test: 103 of 104 videos used; left out: 1 missing, 0 corrupt, 0 too short: Punch/v_Punch_g02_c01.avi
    (missing)`.
    """
    lines = []
    for name in SUBSETS:
        rows = index[index["subset"] == name]
        bad = rows[rows["status"].isin(BAD_STATUSES)]
        line = f"{name}: {len(rows) - len(bad)} of {len(rows)} videos used"
        if len(bad):
            counts = bad["status"].value_counts()
            parts = ", ".join(f"{int(counts.get(s, 0))} {s.replace('_', ' ')}" for s in BAD_STATUSES)
            line += f"; left out: {parts}: {_first_names(bad)}"
        lines.append(line)
    if index["status"].isin(BAD_STATUSES).any():
        lines.append(f"left-out videos with reasons: {Path(folder) / EXCLUDED_CSV}")
    return lines


def check_test_set(index: pd.DataFrame, max_missing: int, folder: Path) -> None:
    """Raise `IncompleteTestSet` when more than `max_missing` test videos are missing, corrupt or too short."""
    test = index[index["subset"] == "test"]
    bad = test[test["status"].isin(BAD_STATUSES)]
    if len(bad) <= max_missing:
        return
    raise IncompleteTestSet(
        f"the test set misses {len(bad)} of its {len(test)} videos, more than data.max_missing_test={max_missing}: "
        f"{_first_names(bad)}; reasons in {Path(folder) / EXCLUDED_CSV}. Restore or repair them (the next run "
        f"re-probes changed files), or set data.max_missing_test={len(bad)} to test on the other "
        f"{len(test) - len(bad)} (the report marks the run's test set incomplete)"
    )


def _first_names(bad: pd.DataFrame) -> str:
    head = bad.head(FIRST)
    named = ", ".join(f"{p} ({s.replace('_', ' ')})" for p, s in zip(head["path"], head["status"], strict=True))
    return named + (f" and {len(bad) - FIRST} more" if len(bad) > FIRST else "")
