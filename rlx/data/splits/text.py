"""Reading annotation text files: stripped lines, csv records, and errors that name the file and line."""

from __future__ import annotations

import csv
from pathlib import Path


def lines(path: Path) -> list[tuple[int, str]]:
    """Non-blank stripped lines with 1-based line numbers; CRLF/LF/no final newline alike."""
    if not path.is_file():
        raise FileNotFoundError(f"annotation file not found: {path}")
    text = path.read_text(encoding="utf-8-sig")
    return [(number, line.strip()) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]


def csv_records(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
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
                raise malformed(path, reader.line_num, str(record), f"expected {len(reader.fieldnames)} fields")
            records.append((reader.line_num, record))
    return records


def malformed(path: Path, lineno: int, line: str, why: str) -> ValueError:
    """The error for a bad entry: `<file>:<line>: <why>: '<the line, cut at 120 characters>'`."""
    return ValueError(f"{path}:{lineno}: {why}: {line[:120]!r}")


def parse_int(text: str, path: Path, lineno: int, line: str) -> int:
    """`int(text)`, or a `malformed` error naming the file and line."""
    try:
        return int(text)
    except ValueError:
        raise malformed(path, lineno, line, f"{text!r} is not an integer") from None


def parse_float(text: str, path: Path, lineno: int) -> float:
    """`float(text)`, or a `malformed` error naming the file and line."""
    try:
        return float(text)
    except ValueError:
        raise malformed(path, lineno, text, f"{text!r} is not a number") from None
