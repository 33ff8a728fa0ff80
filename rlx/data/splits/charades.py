"""Charades' official files (Charades_v1_{train,test}.csv, Charades_v1_classes.txt) -> index rows.

Charades is multi-label: every row has `label == -1`, `labels` (the sorted
distinct classes), `segments` (the timed actions: the training samples, see
`rlx.data.pipeline.rows.action_rows`) and `duration` (seconds, from the
csv's `length`; it places the actions in frames, fps = frames / duration).

The files have quirks a naive parser gets wrong; each is handled where it is
parsed:

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

import math
import re
from dataclasses import dataclass
from pathlib import Path

from rlx.data.splits.index import SPLITS, Rows
from rlx.data.splits.text import csv_records, lines, malformed, parse_float

OFFICIAL_SPLITS = (1,)

_SEGMENT = re.compile(r"^(c\d{3}) (\d+(?:\.\d*)?) (\d+(?:\.\d*)?)$")


def parse(root: Path, split: int) -> tuple[Rows, list[str]]:
    """Train and test rows from the files in `root` (`split` is always 1), and the class names in code order."""
    codes, classes = _read_classes(root / "Charades_v1_classes.txt")
    rows = Rows(extra={"segments": [], "duration": []})
    seen: dict[str, str] = {}
    for split_name in SPLITS:
        path = root / f"Charades_v1_{split_name}.csv"
        for lineno, record in csv_records(path, required=("id", "actions", "length")):
            video_id = record["id"].strip()
            if not video_id:
                raise malformed(path, lineno, str(record), "empty id")
            if video_id in seen:
                raise malformed(path, lineno, video_id, f"id already listed in {seen[video_id]}")
            seen[video_id] = path.name
            duration = parse_float(record["length"], path, lineno) if record["length"].strip() else float("nan")
            actions = _parse_actions(record["actions"], codes, duration, path, lineno)
            labels = sorted({seg["class"] for seg in actions.every})
            rows.add(video_id, f"{video_id}.mp4", split_name, labels, multi_label=True)
            rows.extra["segments"].append(actions.kept)
            rows.extra["duration"].append(duration)
    return rows, classes


def _read_classes(path: Path) -> tuple[dict[str, int], list[str]]:
    """`cNNN Name` lines -> ({code: id}, names); codes must run c000, c001, ..."""
    codes: dict[str, int] = {}
    names: list[str] = []
    for lineno, line in lines(path):
        code, _, name = line.partition(" ")
        if code != f"c{len(codes):03d}" or not name.strip():
            raise malformed(path, lineno, line, f"expected 'c{len(codes):03d} <class name>'")
        codes[code] = len(codes)
        names.append(name.strip())
    if not names:
        raise ValueError(f"{path}: no classes")
    return codes, names


@dataclass(frozen=True)
class _Actions:
    """The segments of one video's `actions` field, as `{"class", "start", "end"}` dicts (the parquet struct)."""

    every: list[dict]  # all segments, after swapping and clipping: their classes label the video
    kept: list[dict]  # the non-empty ones: the `segments` column, the training samples


def _parse_actions(field_text: str, codes: dict[str, int], duration: float, path: Path, lineno: int) -> _Actions:
    """`c092 11.90 21.20;c147 0.00 12.60` -> every segment, and the ones kept for sampling.

    Reversed segments are swapped and segments are clipped to [0, duration];
    a segment left empty by clipping is not kept (its class still labels the video).
    """
    every: list[dict] = []
    kept: list[dict] = []
    for item in filter(None, (part.strip() for part in field_text.split(";"))):
        match = _SEGMENT.match(item)
        if not match or match[1] not in codes:
            raise malformed(path, lineno, item, "expected action 'cNNN <start> <end>' with a known class")
        start, end = sorted((float(match[2]), float(match[3])))
        if not math.isnan(duration):
            start, end = min(start, duration), min(end, duration)
        segment = {"class": codes[match[1]], "start": start, "end": end}
        every.append(segment)
        if end > start:
            kept.append(segment)
    return _Actions(every, kept)
