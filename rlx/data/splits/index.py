"""The index table: its columns and dtypes, and reading/writing index.parquet and its class list.

An index has one row per video with the columns `BASE_COLUMNS` (plus the
optional ones of `COLUMN_TYPES`). The class names travel with the table in
``df.attrs["classes"]`` (class-id order), next to ``df.attrs["dataset"]`` and
``df.attrs["split"]``; `write_index` stores them in the parquet schema
metadata and in a readable ``<stem>.classes.txt``. Two more attrs travel the
same way: ``format`` (the `IndexFormat` it was read from; the dataset name for
indexes written before formats existed) and ``media`` (``video``: paths are
video files; ``rawframes``: paths are folders of `img_`/`flow_x_` JPEGs). A
class subset (`rlx.data.splits.subset`) adds ``class_map``: the original
class id of each new id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from rlx.config import Dataset
from rlx.data.splits.text import lines, malformed

SPLITS = ("train", "test")
MEDIA = ("video", "rawframes")
# attrs stored in the parquet metadata besides the class list, with their value for older files.
_META_ATTRS = ("dataset", "split", "format", "media", "class_map")
BASE_COLUMNS = ("video_id", "path", "split", "label", "labels", "num_frames", "fps", "status")
META_KEY = b"rlx.index"

# Seconds as float64: the csv has two decimals and float32 would turn 11.90 into 11.8999996.
SEGMENT_TYPE = pa.struct([("class", pa.int32()), ("start", pa.float64()), ("end", pa.float64())])
COLUMN_TYPES: dict[str, pa.DataType] = {
    "video_id": pa.string(),
    "path": pa.string(),
    "split": pa.string(),
    "label": pa.int32(),
    "labels": pa.list_(pa.int32()),
    "num_frames": pa.int32(),
    "fps": pa.float32(),
    "status": pa.string(),
    # Charades only.
    "segments": pa.list_(SEGMENT_TYPE),
    "duration": pa.float64(),
    # Added by rlx.data.probe.probe_index: why a video is not 'ok'.
    "probe_error": pa.string(),
    # Added by rlx.train.data.prepare_dataset: train | val (held out of train) | test.
    "subset": pa.string(),
}


@dataclass
class Rows:
    """Column lists of an index under construction (one entry per video)."""

    video_id: list[str] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    split: list[str] = field(default_factory=list)
    label: list[int] = field(default_factory=list)
    labels: list[list[int]] = field(default_factory=list)
    extra: dict[str, list] = field(default_factory=dict)

    def add(self, video_id: str, path: str, split: str, labels: list[int], multi_label: bool = False) -> None:
        self.video_id.append(video_id)
        self.path.append(path)
        self.split.append(split)
        self.labels.append(labels)
        self.label.append(-1 if multi_label else labels[0])


# Joins the folders of a nested path in a video id: ids name flow folders (`rlx.data flow`), which are flat.
ID_SEPARATOR = "__"


def nested_id(rel: str, strip_suffix: bool) -> str:
    """The video id of a path under a root: `walk/clip01.mp4` -> `walk__clip01` (unique where paths are)."""
    path = Path(rel).with_suffix("") if strip_suffix else Path(rel)
    return ID_SEPARATOR.join(path.parts)


def to_frame(
    rows: Rows, classes: list[str], dataset: str, split: int, media: str = "video", fmt: str = ""
) -> pd.DataFrame:
    """The index table of parsed `rows`: not yet probed (no frame count, fps NaN, status 'unprobed')."""
    n = len(rows.video_id)
    if len(set(rows.video_id)) != n:
        seen: set[str] = set()
        twice = sorted({v for v in rows.video_id if v in seen or seen.add(v)})
        raise ValueError(f"video ids must be unique; listed more than once: {twice[:5]}")
    data = {
        "video_id": rows.video_id,
        "path": rows.path,
        "split": rows.split,
        "label": rows.label,
        "labels": rows.labels,
        "num_frames": [None] * n,
        "fps": np.full(n, np.nan, dtype=np.float32),
        "status": ["unprobed"] * n,
        **rows.extra,
    }
    df = _canonical(pd.DataFrame(data))
    df.attrs.update(dataset=dataset, split=split, classes=list(classes), format=fmt or dataset, media=media)
    return df


def write_index(df: pd.DataFrame, out: Path) -> Path:
    """Write `df` to parquet and its class list to ``<stem>.classes.txt`` beside it.

    The class names, dataset and split go into the parquet schema metadata so
    the file alone is enough to map label ids back to names.
    """
    out = Path(out)
    classes = _attrs_classes(df)
    table = pa.Table.from_pandas(_canonical(df), schema=_schema_for(df.columns), preserve_index=False)
    meta = {key: df.attrs.get(key) for key in _META_ATTRS if df.attrs.get(key) is not None} | {"classes": classes}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), META_KEY: json.dumps(meta).encode()})
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out)
    classes_path(out).write_text("".join(f"{i} {name}\n" for i, name in enumerate(classes)), encoding="utf-8")
    return out


def read_index(path: Path) -> pd.DataFrame:
    """Read an index written by `write_index`, with its dtypes and attrs restored."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"index file not found: {path}")
    table = pq.read_table(path)
    meta = _read_meta(table.schema, path)
    df = _canonical(table.to_pandas())
    df.attrs.update({key: meta[key] for key in _META_ATTRS if key in meta}, classes=list(meta["classes"]))
    df.attrs.setdefault("dataset", None)
    df.attrs.setdefault("split", None)
    df.attrs.setdefault("format", meta.get("dataset"))
    df.attrs.setdefault("media", "video")
    return df


def read_classes(path: Path) -> list[str]:
    """Class names in class-id order, from an index parquet or its ``.classes.txt``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"file not found: {path}")
    if path.suffix == ".parquet":
        return list(_read_meta(pq.read_schema(path), path)["classes"])
    return _parse_classes_txt(path)


def index_meta(path: Path) -> dict:
    """The attrs of an index file (dataset, split, format, media, classes, ...) without reading its rows."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"index file not found: {path}")
    meta = _read_meta(pq.read_schema(path), path)
    return {"format": meta.get("dataset"), "media": "video"} | meta


def classes_path(index_path: Path) -> Path:
    """The human-readable class list written beside an index: ``<stem>.classes.txt``."""
    index_path = Path(index_path)
    return index_path.with_name(f"{index_path.stem}.classes.txt")


def describe_index(df: pd.DataFrame) -> str:
    """One line: dataset, split, videos per split and the class count (what the CLI prints)."""
    counts = df["split"].value_counts()
    parts = ", ".join(f"{name} {int(counts.get(name, 0))}" for name in SPLITS)
    name = df.attrs.get("dataset", "?")
    head = f"{name} split {df.attrs.get('split', '?')}" if name in get_args(Dataset) else f"{name}"
    if df.attrs.get("media") == "rawframes":
        head += " (rawframes)"
    line = f"{head}: {len(df)} videos ({parts}), {len(df.attrs.get('classes', []))} classes"
    if (df["label"] == -1).all() and len(df):
        unlabeled = int((df["labels"].map(len) == 0).sum())
        line += f", multi-label ({unlabeled} videos without actions)"
    return line


# --------------------------------------------------------------------------- internals


def _canonical(df: pd.DataFrame) -> pd.DataFrame:
    """Fixed dtypes: int32 label, nullable Int32 num_frames, float32 fps, lists as lists."""
    out = df.copy()
    out["label"] = out["label"].astype(np.int32)
    out["num_frames"] = out["num_frames"].astype("Int32")
    out["fps"] = out["fps"].astype(np.float32)
    out["labels"] = out["labels"].map(lambda v: [int(x) for x in v])
    if "segments" in out:
        out["segments"] = out["segments"].map(
            lambda segs: [{"class": int(s["class"]), "start": float(s["start"]), "end": float(s["end"])} for s in segs]
        )
    if "duration" in out:
        out["duration"] = out["duration"].astype(np.float64)
    for name in ("video_id", "path", "split", "status"):
        out[name] = out[name].astype(str)
    return out


def _schema_for(columns: pd.Index) -> pa.Schema:
    unknown = [c for c in columns if c not in COLUMN_TYPES]
    if unknown:
        raise ValueError(f"index has columns without a declared parquet type: {unknown}")
    missing = [c for c in BASE_COLUMNS if c not in columns]
    if missing:
        raise ValueError(f"index lacks column(s) {missing}")
    return pa.schema([pa.field(c, COLUMN_TYPES[c]) for c in columns])


def _attrs_classes(df: pd.DataFrame) -> list[str]:
    classes = df.attrs.get("classes")
    if not classes:
        raise ValueError("index has no class list (df.attrs['classes']); build it with build_index or read_index")
    return list(classes)


def _read_meta(schema: pa.Schema, path: Path) -> dict:
    raw = (schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise ValueError(f"{path}: not an rlx index (no {META_KEY.decode()} schema metadata)")
    return json.loads(raw)


def _parse_classes_txt(path: Path) -> list[str]:
    """`<id> <name>` lines (ids 0..K-1 in order) -> names."""
    names: list[str] = []
    for lineno, line in lines(path):
        number, _, name = line.partition(" ")
        if number != str(len(names)) or not name:
            raise malformed(path, lineno, line, f"expected '{len(names)} <class name>'")
        names.append(name)
    return names
