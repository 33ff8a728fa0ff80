"""`build_index`: a dataset name and its annotations folder -> the index of one official split."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pandas as pd

import rlx.data.splits.charades as charades
import rlx.data.splits.hmdb51 as hmdb51
import rlx.data.splits.ucf101 as ucf101
from rlx.config import Dataset
from rlx.data.splits.index import to_frame

# The datasets with official split files. "synthetic" has none of its own: rlx.data.synthetic writes its
# annotations in the UCF-101 layout, and rlx.train.data indexes them as "ucf101".
DATASETS: tuple[str, ...] = tuple(name for name in get_args(Dataset) if name != "synthetic")


def build_index(dataset: str, annotations: Path, split: int = 1) -> pd.DataFrame:
    """One row per video of `split` of `dataset`, parsed from its official files.

    Class names (class-id order) are in ``df.attrs["classes"]``, the dataset
    and split in ``df.attrs["dataset"]`` / ``df.attrs["split"]``.
    Raises FileNotFoundError naming a missing file and ValueError naming the
    file and line of a malformed entry.
    """
    annotations = Path(annotations)
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
    if not annotations.is_dir():
        raise FileNotFoundError(f"annotations folder not found: {annotations}")
    if dataset == "ucf101":
        rows, classes = ucf101.parse(annotations, _check_split(split, ucf101.OFFICIAL_SPLITS, dataset))
    elif dataset == "hmdb51":
        rows, classes = hmdb51.parse(annotations, _check_split(split, hmdb51.OFFICIAL_SPLITS, dataset))
    else:
        rows, classes = charades.parse(annotations, _check_split(split, charades.OFFICIAL_SPLITS, dataset))
    return to_frame(rows, classes, dataset, split)


def _check_split(split: int, allowed: tuple[int, ...], dataset: str) -> int:
    if split not in allowed:
        if len(allowed) == 1:
            raise ValueError(f"{dataset} has a single official split (train/test); split={split} does not exist")
        raise ValueError(f"{dataset} has splits {', '.join(map(str, allowed))}; got split={split}")
    return split
