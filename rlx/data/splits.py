"""Official split files of UCF-101, HMDB-51 and Charades -> one index table.

`build_index` returns one row per video of a split with the columns of
ARCHITECTURE.md (`video_id`, `path`, `split`, `label`, `labels`,
`num_frames`, `fps`, `status`); Charades adds `segments` (the timed actions,
for clip sampling) and `duration` (seconds, from the csv's `length`). The class names
travel with the table in ``df.attrs["classes"]`` (class-id order), next to
``df.attrs["dataset"]`` and ``df.attrs["split"]``; `write_index` stores them
in the parquet schema metadata and in a readable ``<stem>.classes.txt``.

The official files have quirks a naive parser gets wrong; each one is handled
where it is parsed and named in a comment there:

UCF-101 (classInd.txt, trainlist0k.txt, testlist0k.txt)
  * CRLF line endings, a final CRLF: lines are split with `splitlines()` and
    stripped, blank lines skipped (copies converted to LF parse the same).
  * test lines carry no label: the label comes from the folder via classInd.
  * classInd order is case-insensitive alphabetical (Hammering=35 before
    HammerThrow=36, JumpingJack before JumpRope); Python's `sorted()` gives a
    different order, so ids are always read from classInd, never recomputed.
  * folder `HandstandPushups` holds files named `v_HandStandPushups_*`: the
    class comes from the folder, never from the file name; `path` is kept
    exactly as listed (it is the on-disk layout of the official archive).
HMDB-51 (<class>_test_split<k>.txt)
  * every line ends with a space before the LF: lines are stripped and split
    from the right, so the flag is the last token.
  * class names are prefixes of each other (climb / climb_stairs, kick /
    kick_ball, sword / sword_exercise, shoot_ball / shoot_bow / shoot_gun):
    the class is taken from the whole file name with an anchored regex,
    never by globbing `<class>*` or splitting on `_`.
  * video names contain `[ ] ( ) ! ; & # + @ ~`: they are kept verbatim and
    never used as glob patterns.
  * flag 0 (unused) rows are dropped; 1 -> train, 2 -> test.
Charades (Charades_v1_{train,test}.csv, Charades_v1_classes.txt)
  * CRLF csv with double-quoted fields holding commas (script, descriptions):
    read with the csv module (newline=''), never by splitting on commas.
  * the header has 11 fields (`objects` is missing from the README's list of
    10): columns are looked up by header name, not position.
  * ids look like numbers to type-inferring readers ("05124", "00607" lose
    their zeros, "469E8", "150E6", "07E49" become floats): every field is
    read as a string.
  * 174 train / 49 test videos have an empty `actions` field: they stay in
    the index (the official counts include them) with `labels == []`.
  * a class can occur in several segments of one video: `labels` holds the
    sorted distinct classes, `segments` every segment.
  * 7 train segments end before they start (e.g. 00SL4 `c071 18.00 10.00`):
    their ends are swapped.
  * about 30% of segments end after the video's `length` (annotators rounded
    up): segments are clipped to [0, length]; one that is empty after
    clipping is dropped from `segments` (its class stays in `labels`).
  * Charades_v1_classes.txt exists in copies with a trailing space after
    `c134 Lying on a bed` and no final newline: lines are stripped.
  * Charades has one official split: asking for split 2 or 3 is an error.
"""
from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

DATASETS = ("ucf101", "hmdb51", "charades")
SPLITS = ("train", "test")
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
class _Rows:
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


# --------------------------------------------------------------------------- public API


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
        rows, classes = _parse_ucf101(annotations, _check_split(split, (1, 2, 3), dataset))
    elif dataset == "hmdb51":
        rows, classes = _parse_hmdb51(annotations, _check_split(split, (1, 2, 3), dataset))
    else:
        rows, classes = _parse_charades(annotations, _check_split(split, (1,), dataset))
    return _to_frame(rows, classes, dataset, split)


def write_index(df: pd.DataFrame, out: Path) -> Path:
    """Write `df` to parquet and its class list to ``<stem>.classes.txt`` beside it.

    The class names, dataset and split go into the parquet schema metadata so
    the file alone is enough to map label ids back to names.
    """
    out = Path(out)
    classes = _attrs_classes(df)
    table = pa.Table.from_pandas(_canonical(df), schema=_schema_for(df.columns), preserve_index=False)
    meta = {"dataset": df.attrs.get("dataset"), "split": df.attrs.get("split"), "classes": classes}
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
    df.attrs.update(dataset=meta.get("dataset"), split=meta.get("split"), classes=list(meta["classes"]))
    return df


def read_classes(path: Path) -> list[str]:
    """Class names in class-id order, from an index parquet or its ``.classes.txt``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"file not found: {path}")
    if path.suffix == ".parquet":
        return list(_read_meta(pq.read_schema(path), path)["classes"])
    return _parse_classes_txt(path)


def classes_path(index_path: Path) -> Path:
    """The human-readable class list written beside an index: ``<stem>.classes.txt``."""
    index_path = Path(index_path)
    return index_path.with_name(f"{index_path.stem}.classes.txt")


def describe_index(df: pd.DataFrame) -> str:
    """One line: dataset, split, videos per split and the class count (what the CLI prints)."""
    counts = df["split"].value_counts()
    parts = ", ".join(f"{name} {int(counts.get(name, 0))}" for name in SPLITS)
    head = f"{df.attrs.get('dataset', '?')} split {df.attrs.get('split', '?')}"
    line = f"{head}: {len(df)} videos ({parts}), {len(df.attrs.get('classes', []))} classes"
    if (df["label"] == -1).all() and len(df):
        unlabeled = int((df["labels"].map(len) == 0).sum())
        line += f", multi-label ({unlabeled} videos without actions)"
    return line


# --------------------------------------------------------------------------- UCF-101


def _parse_ucf101(root: Path, split: int) -> tuple[_Rows, list[str]]:
    class_ids = _read_ucf_classind(root / "classInd.txt")
    rows = _Rows()
    seen: dict[str, tuple[Path, int]] = {}
    for split_name, name in (("train", f"trainlist0{split}.txt"), ("test", f"testlist0{split}.txt")):
        path = root / name
        for lineno, line in _lines(path):
            tokens = line.split()
            if len(tokens) not in (1, 2):
                raise _malformed(path, lineno, line, "expected '<Class>/<video>.avi [label]'")
            rel = tokens[0]
            folder, _, filename = rel.partition("/")
            if not filename or "/" in filename:
                raise _malformed(path, lineno, line, "expected '<Class>/<video>.avi'")
            if folder not in class_ids:
                raise _malformed(path, lineno, line, f"class folder {folder!r} is not in classInd.txt")
            label = class_ids[folder]
            # Train lines carry a 1-based label; it must agree with the folder.
            if len(tokens) == 2 and _int(tokens[1], path, lineno, line) - 1 != label:
                why = f"label {tokens[1]} disagrees with folder {folder} (classInd {label + 1})"
                raise _malformed(path, lineno, line, why)
            if rel in seen:
                other, other_line = seen[rel]
                raise _malformed(path, lineno, line, f"video already listed at {other.name}:{other_line}")
            seen[rel] = (path, lineno)
            rows.add(Path(filename).stem, rel, split_name, [label])
    return rows, sorted(class_ids, key=class_ids.__getitem__)


def _read_ucf_classind(path: Path) -> dict[str, int]:
    """classInd.txt `<1-based id> <Name>` -> {Name: 0-based id}; ids must be 1..K."""
    ids: dict[str, int] = {}
    for lineno, line in _lines(path):
        tokens = line.split()
        if len(tokens) != 2:
            raise _malformed(path, lineno, line, "expected '<id> <ClassName>'")
        number = _int(tokens[0], path, lineno, line)
        if number != len(ids) + 1:
            raise _malformed(path, lineno, line, f"class ids must run 1, 2, 3, ...; expected {len(ids) + 1}")
        if tokens[1] in ids:
            raise _malformed(path, lineno, line, f"class {tokens[1]!r} listed twice")
        ids[tokens[1]] = number - 1
    if not ids:
        raise ValueError(f"{path}: no classes")
    return ids


# --------------------------------------------------------------------------- HMDB-51

_HMDB_FILE = re.compile(r"^(?P<cls>.+)_test_split(?P<split>[123])\.txt$")
_HMDB_SPLIT = {"1": "train", "2": "test"}  # "0": not used in this split


def _parse_hmdb51(root: Path, split: int) -> tuple[_Rows, list[str]]:
    found = [m for m in map(_HMDB_FILE.match, sorted(p.name for p in root.iterdir())) if m]
    classes = sorted({m["cls"] for m in found})
    if not classes:
        raise FileNotFoundError(f"no HMDB-51 split files '<class>_test_split{split}.txt' in {root}")
    rows = _Rows()
    seen: dict[str, str] = {}
    for label, cls in enumerate(classes):
        path = root / f"{cls}_test_split{split}.txt"
        for lineno, line in _lines(path):
            tokens = line.rsplit(None, 1)
            if len(tokens) != 2 or tokens[1] not in ("0", "1", "2"):
                raise _malformed(path, lineno, line, "expected '<video>.avi <0|1|2>'")
            video, flag = tokens
            if video in seen:
                raise _malformed(path, lineno, line, f"video already listed for class {seen[video]!r}")
            seen[video] = cls
            if flag in _HMDB_SPLIT:
                rows.add(Path(video).stem, f"{cls}/{video}", _HMDB_SPLIT[flag], [label])
    return rows, classes


# --------------------------------------------------------------------------- Charades

_SEGMENT = re.compile(r"^(c\d{3}) (\d+(?:\.\d*)?) (\d+(?:\.\d*)?)$")


def _parse_charades(root: Path, split: int) -> tuple[_Rows, list[str]]:
    codes, classes = _read_charades_classes(root / "Charades_v1_classes.txt")
    rows = _Rows(extra={"segments": [], "duration": []})
    seen: dict[str, str] = {}
    for split_name in SPLITS:
        path = root / f"Charades_v1_{split_name}.csv"
        for lineno, record in _csv_records(path, required=("id", "actions", "length")):
            video_id = record["id"].strip()
            if not video_id:
                raise _malformed(path, lineno, str(record), "empty id")
            if video_id in seen:
                raise _malformed(path, lineno, video_id, f"id already listed in {seen[video_id]}")
            seen[video_id] = path.name
            duration = _float(record["length"], path, lineno) if record["length"].strip() else float("nan")
            segments = _parse_actions(record["actions"], codes, duration, path, lineno)
            labels = sorted({seg["class"] for seg in segments["all"]})
            rows.add(video_id, f"{video_id}.mp4", split_name, labels, multi_label=True)
            rows.extra["segments"].append(segments["kept"])
            rows.extra["duration"].append(duration)
    return rows, classes


def _read_charades_classes(path: Path) -> tuple[dict[str, int], list[str]]:
    """`cNNN Name` lines -> ({code: id}, names); codes must run c000, c001, ..."""
    codes: dict[str, int] = {}
    names: list[str] = []
    for lineno, line in _lines(path):
        code, _, name = line.partition(" ")
        if code != f"c{len(codes):03d}" or not name.strip():
            raise _malformed(path, lineno, line, f"expected 'c{len(codes):03d} <class name>'")
        codes[code] = len(codes)
        names.append(name.strip())
    if not names:
        raise ValueError(f"{path}: no classes")
    return codes, names


def _parse_actions(field_text: str, codes: dict[str, int], duration: float, path: Path, lineno: int) -> dict[str, list]:
    """`c092 11.90 21.20;c147 0.00 12.60` -> every segment, and the ones kept for sampling.

    Reversed segments are swapped and segments are clipped to [0, duration];
    a segment left empty by clipping is not kept (its class still labels the video).
    """
    every: list[dict] = []
    kept: list[dict] = []
    for item in filter(None, (part.strip() for part in field_text.split(";"))):
        match = _SEGMENT.match(item)
        if not match or match[1] not in codes:
            raise _malformed(path, lineno, item, "expected action 'cNNN <start> <end>' with a known class")
        start, end = sorted((float(match[2]), float(match[3])))
        if not math.isnan(duration):
            start, end = min(start, duration), min(end, duration)
        segment = {"class": codes[match[1]], "start": start, "end": end}
        every.append(segment)
        if end > start:
            kept.append(segment)
    return {"all": every, "kept": kept}


# --------------------------------------------------------------------------- shared helpers


def _check_split(split: int, allowed: tuple[int, ...], dataset: str) -> int:
    if split not in allowed:
        if dataset == "charades":
            raise ValueError(f"charades has a single official split (train/test); split={split} does not exist")
        raise ValueError(f"{dataset} has splits {', '.join(map(str, allowed))}; got split={split}")
    return split


def _lines(path: Path) -> list[tuple[int, str]]:
    """Non-blank stripped lines with 1-based line numbers; CRLF/LF/no final newline alike."""
    if not path.is_file():
        raise FileNotFoundError(f"annotation file not found: {path}")
    text = path.read_text(encoding="utf-8-sig")
    return [(number, line.strip()) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]


def _csv_records(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """Rows of a quoted CRLF csv as strings keyed by header name, with their line numbers."""
    if not path.is_file():
        raise FileNotFoundError(f"annotation file not found: {path}")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in required if name not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}:1: header lacks column(s) {', '.join(missing)}")
        records = []
        for record in reader:
            if None in record or any(value is None for value in record.values()):
                raise _malformed(path, reader.line_num, str(record), f"expected {len(reader.fieldnames)} fields")
            records.append((reader.line_num, record))
    return records


def _malformed(path: Path, lineno: int, line: str, why: str) -> ValueError:
    return ValueError(f"{path}:{lineno}: {why}: {line[:120]!r}")


def _int(text: str, path: Path, lineno: int, line: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _malformed(path, lineno, line, f"{text!r} is not an integer") from None


def _float(text: str, path: Path, lineno: int) -> float:
    try:
        return float(text)
    except ValueError:
        raise _malformed(path, lineno, text, f"{text!r} is not a number") from None


def _to_frame(rows: _Rows, classes: list[str], dataset: str, split: int) -> pd.DataFrame:
    n = len(rows.video_id)
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
    df.attrs.update(dataset=dataset, split=split, classes=list(classes))
    return df


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
    for lineno, line in _lines(path):
        number, _, name = line.partition(" ")
        if number != str(len(names)) or not name:
            raise _malformed(path, lineno, line, f"expected '{len(names)} <class name>'")
        names.append(name)
    return names
