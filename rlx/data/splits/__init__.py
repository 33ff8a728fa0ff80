"""Official split files of UCF-101, HMDB-51 and Charades -> one index table.

`build_index` returns one row per video of a split with the columns of
ARCHITECTURE.md (`video_id`, `path`, `split`, `label`, `labels`,
`num_frames`, `fps`, `status`); Charades adds `segments` (the timed actions,
its training samples) and `duration` (seconds, from the csv's `length`). The class names
travel with the table in ``df.attrs["classes"]`` (class-id order), next to
``df.attrs["dataset"]`` and ``df.attrs["split"]``; `write_index` stores them
in the parquet schema metadata and in a readable ``<stem>.classes.txt``.

One module per format owns that format and names its quirks (`ucf101`,
`hmdb51`, `charades`, `folder` for a tree of class subfolders, `mmaction` for
mmaction2's video and rawframes lists); `index` owns the table's schema and
its files, `text` the line and csv reading they share, `build` the dispatch
over `rlx.config.IndexFormat`, `subset` the `data.classes` restriction.
"""

from rlx.data.splits.build import DATASETS, FORMATS, FormatSources, build_index, index_from
from rlx.data.splits.index import (
    BASE_COLUMNS,
    COLUMN_TYPES,
    MEDIA,
    META_KEY,
    SEGMENT_TYPE,
    SPLITS,
    classes_path,
    describe_index,
    index_meta,
    read_classes,
    read_index,
    write_index,
)
from rlx.data.splits.subset import resolve_classes, select_classes

__all__ = [
    "BASE_COLUMNS",
    "COLUMN_TYPES",
    "DATASETS",
    "FORMATS",
    "MEDIA",
    "FormatSources",
    "META_KEY",
    "SEGMENT_TYPE",
    "SPLITS",
    "build_index",
    "classes_path",
    "describe_index",
    "index_from",
    "index_meta",
    "read_classes",
    "read_index",
    "resolve_classes",
    "select_classes",
    "write_index",
]
