"""The synthetic benchmark cache: one folder per generation parameters, generated on first use, never half-done.

A folder counts as done only when its marker file (`MARKER`) matches the
parameters and every listed video is there; generation happens in a temporary
folder renamed into place, so an interrupted or concurrent run is harmless.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from rlx.data.synthetic.render import BENCHMARK_VERSION
from rlx.data.synthetic.scenes import CLASS_NAMES
from rlx.data.synthetic.writer import BenchmarkSummary, write_benchmark

MARKER = ".complete.json"


def default_cache_dir() -> Path:
    """$RLX_CACHE, else ~/.cache/rlx (DataConfig.cache_dir's default)."""
    return Path(os.environ.get("RLX_CACHE") or Path.home() / ".cache" / "rlx")


@dataclass(frozen=True)
class CacheKey:
    """The parameters a cached benchmark was generated with; `folder` is its folder name under the cache root."""

    videos_per_class: int = 24
    frames: int = 40
    size: int = 96
    seed: int = 0
    version: int = BENCHMARK_VERSION

    @property
    def folder(self) -> str:
        return f"synthetic-v{self.version}-n{self.videos_per_class}-f{self.frames}-s{self.size}-seed{self.seed}"


def ensure_benchmark(root: Path, **params: int) -> Path:
    """The benchmark folder for `params` under `root`, generated on first use.

    `params` are `write_benchmark`'s keyword arguments; the folder name encodes
    them and BENCHMARK_VERSION. Generation happens in `root/.tmp-<name>-<uuid>`
    and is renamed into place only after the marker file is written, so an
    interrupted run never leaves a folder that counts as done. A folder whose
    marker is missing or does not match is regenerated.
    """
    key = CacheKey(**params)
    root = Path(root)
    final = root / key.folder
    if is_complete(final, key):
        return final
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{key.folder}-{uuid.uuid4().hex[:8]}"
    try:
        summary = write_benchmark(tmp, **params)
        _write_marker(tmp, key, summary)
        _move_into_place(tmp, final, key)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _marker_payload(key: CacheKey) -> dict:
    return {"params": asdict(key), "classes": list(CLASS_NAMES)}


def _write_marker(folder: Path, key: CacheKey, summary: BenchmarkSummary) -> None:
    payload = {**_marker_payload(key), "num_videos": summary.num_videos, "seconds": round(summary.seconds, 2)}
    (folder / MARKER).write_text(json.dumps(payload, indent=1, sort_keys=True), encoding="utf-8")


def is_complete(folder: Path, key: CacheKey) -> bool:
    """The marker exists, matches the params, and every listed video file is there."""
    try:
        payload = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if {k: payload.get(k) for k in ("params", "classes")} != _marker_payload(key):
        return False
    listed = [line.split()[0] for name in ("trainlist01.txt", "testlist01.txt") for line in _read_lines(folder, name)]
    return len(listed) == payload.get("num_videos") and all((folder / "videos" / rel).is_file() for rel in listed)


def _read_lines(folder: Path, name: str) -> list[str]:
    path = folder / "annotations" / name
    return [line for line in path.read_text(encoding="ascii").splitlines() if line.strip()] if path.is_file() else []


def _move_into_place(tmp: Path, final: Path, key: CacheKey) -> None:
    """Rename tmp -> final; a stale incomplete final is removed first; a concurrent winner is kept."""
    if final.exists() and not is_complete(final, key):
        shutil.rmtree(final)
    try:
        os.rename(tmp, final)
    except OSError:
        if not is_complete(final, key):  # not another process's finished copy: a real error
            raise
