"""`build_index`: a dataset name and its annotations folder -> the index of one official split;
`index_from`: any `IndexFormat` and its sources -> an index (the one dispatch over formats)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import pandas as pd

import rlx.data.splits.charades as charades
import rlx.data.splits.folder as folder
import rlx.data.splits.hmdb51 as hmdb51
import rlx.data.splits.mmaction as mmaction
import rlx.data.splits.ucf101 as ucf101
from rlx.config import Dataset, IndexFormat
from rlx.data.splits.index import to_frame

FORMATS: tuple[str, ...] = get_args(IndexFormat)
# The datasets with official split files. "synthetic" has none of its own: rlx.data.synthetic writes its
# annotations in the UCF-101 layout, and rlx.train.data indexes them as "ucf101".
# The formats that are datasets of their own (the rest are `data.dataset: custom`).
DATASETS: tuple[str, ...] = tuple(name for name in FORMATS if name in get_args(Dataset))


@dataclass(frozen=True)
class FormatSources:
    """Where one format's annotations are; which fields a format reads is in `index_from`'s docstring."""

    annotations: Path | None = None  # official formats: the folder of official split files
    split: int = 1  # official formats: which train/test split
    root: Path | None = None  # folder: the class-folder root
    train_list: Path | None = None  # folder (optional) and mmaction lists
    test_list: Path | None = None
    test_fraction: float = 0.0  # folder without lists: the stratified test fraction ...
    seed: int = 0  # ... drawn with this seed
    class_names: Path | None = None  # mmaction: one class name a line (else names are "0".."K-1")
    multilabel: bool = False  # mmaction: lines may carry several labels


def index_from(fmt: str, sources: FormatSources) -> pd.DataFrame:
    """The index of `fmt` read from `sources`; not yet probed.

    ucf101 / hmdb51 / charades: `annotations`, `split`.
    folder: `root`, and `test_list` (+ optional `train_list`) or `test_fraction` + `seed`.
    mmaction-video / mmaction-rawframes: `train_list`, `test_list`, `multilabel`, optional `class_names`.
    """
    if fmt in DATASETS:
        return build_index(fmt, _need(sources.annotations, fmt, "the official annotations folder"), sources.split)
    if fmt == "folder":
        root = _need(sources.root, fmt, "the class-folder root")
        rows, classes, media = folder.parse(
            root, sources.test_list, sources.train_list, sources.test_fraction, sources.seed
        )
        return to_frame(rows, classes, fmt, 1, media=media)
    if fmt in ("mmaction-video", "mmaction-rawframes"):
        train = _need(sources.train_list, fmt, "a train list")
        test = _need(sources.test_list, fmt, "a test list")
        rawframes = fmt == "mmaction-rawframes"
        rows, classes, media = mmaction.parse(train, test, rawframes, sources.multilabel, sources.class_names)
        return to_frame(rows, classes, fmt, 1, media=media)
    raise ValueError(f"unknown index format {fmt!r}; expected one of {', '.join(FORMATS)}")


def _need(path: Path | None, fmt: str, what: str) -> Path:
    if path is None:
        raise ValueError(f"the {fmt} format needs {what}")
    return Path(path)


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
