"""A run's dataset, prepared once by the launcher before any worker starts.

`prepare_dataset` (launcher side, before Ray Train starts) resolves the
config's data keys into a folder holding
    index.parquet    the split's videos, probed (num_frames, status), with a
                     `subset` column: train | val | test
    classes.txt      class names in class-id order
    source.json      where the frames are (videos or rawframes root, modality)
so a bad path fails in the launcher with the path named, and workers do no
probing. Prepared folders are cached by the data keys that define them.

The validation hold-out is a fixed, stratified fraction of the training
split chosen by a hash of the video id — the same videos for every trial,
seed and stream, so RGB and flow trials can be fused on the same val videos.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rlx.config import DataConfig
from rlx.data import probe, splits, synthetic

log = logging.getLogger(__name__)
PREPARED_VERSION = 1


class DatasetNotFound(FileNotFoundError):
    """A configured data path does not exist; the message says which and where to look."""


def _stable_hash(text: str) -> int:
    return int.from_bytes(hashlib.sha1(text.encode()).digest()[:8], "big")


def assign_subsets(index: pd.DataFrame, val_fraction: float) -> pd.DataFrame:
    """Add `subset`: test rows stay test; per class, the ceil(fraction·n) train videos with the smallest id hash
    become val."""
    out = index.copy()
    out["subset"] = out["split"].astype(str)
    if val_fraction <= 0:
        return out
    train = out[out["split"] == "train"]
    key = train["label"].where(train["label"] >= 0, -1)  # multi-label: one pool
    for _, group in train.groupby(key):
        ranked = sorted(group.index, key=lambda i: _stable_hash(str(out.at[i, "video_id"])))
        out.loc[ranked[: math.ceil(val_fraction * len(ranked))], "subset"] = "val"
    return out


@dataclass(frozen=True)
class DataSource:
    """Where a prepared dataset's frames live."""

    root: str  # absolute videos root (rgb) or rawframes/flow root
    layout: str  # "video": index paths are files under root; "frames": <root>/<video_id>/ folders

    def source_of(self, row_path: str, video_id: str) -> Path:
        return Path(self.root) / row_path if self.layout == "video" else Path(self.root) / video_id


def _synthetic(cfg: DataConfig) -> tuple[Path, Path]:
    cache = Path(cfg.cache_dir) if cfg.cache_dir else synthetic.default_cache_dir()
    root = synthetic.ensure_benchmark(
        cache / "synthetic",
        videos_per_class=cfg.synthetic_videos_per_class,
        frames=cfg.synthetic_frames,
        size=cfg.synthetic_size,
        seed=0,  # the dataset is fixed; trial seeds vary the training, not the data
    )
    return root / "annotations", root / "videos"


def _require(path_text: str, key: str, dataset: str) -> Path:
    if not path_text:
        raise DatasetNotFound(f"{key} is empty: set it to the {dataset} folder (see README, 'Real datasets')")
    path = Path(path_text).expanduser().resolve()
    if not path.exists():
        raise DatasetNotFound(f"dataset not found at {path} ({key}); see README, 'Real datasets'")
    return path


def resolve_paths(cfg: DataConfig) -> tuple[Path | None, Path | None, Path]:
    """(annotations folder or None, index.parquet or None, frames root) for a config, checked to exist."""
    if cfg.dataset == "synthetic":
        if cfg.modality != "rgb":
            raise DatasetNotFound(
                "the synthetic benchmark has RGB videos only; extract flow with `rlx.data flow` "
                "and point data.videos at it with data.dataset=ucf101"
            )
        annotations, videos = _synthetic(cfg)
        return annotations, None, videos
    videos = _require(cfg.videos, "data.videos", cfg.dataset)
    if cfg.index:
        return None, _require(cfg.index, "data.index", cfg.dataset), videos
    return _require(cfg.annotations, "data.annotations", cfg.dataset), None, videos


def prepare_dataset(cfg: DataConfig, cache_dir: Path | None = None) -> Path:
    """The prepared folder for `cfg` (created on first use); returns its absolute path."""
    annotations, index_path, videos = resolve_paths(cfg)
    # RGB reads video files at the index paths; flow reads <root>/<video_id>/flow_{x,y}_*.jpg
    # as written by `rlx.data flow` (TSN's layout).
    layout = "video" if cfg.modality == "rgb" else "frames"
    identity = {
        "v": PREPARED_VERSION,
        "dataset": cfg.dataset,
        "split": cfg.split,
        "annotations": str(annotations),
        "index": str(index_path),
        "videos": str(videos),
        "layout": layout,
        "val_fraction": cfg.val_fraction,
    }
    digest = hashlib.sha1(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    base = cache_dir or (Path(cfg.cache_dir) if cfg.cache_dir else _default_cache())
    folder = (base / "prepared" / f"{cfg.dataset}-split{cfg.split}-{digest}").resolve()
    if (folder / "index.parquet").is_file() and (folder / "source.json").is_file():
        return folder

    if index_path is not None:
        index = splits.read_index(index_path)
        classes = splits.read_classes(index_path)
    else:
        index = splits.build_index(
            "ucf101" if cfg.dataset == "synthetic" else cfg.dataset, annotations, split=cfg.split
        )
        classes = list(index.attrs["classes"])
    if layout == "frames":  # rawframes/flow folders are named by video id
        index = index.assign(path=index["video_id"])
    if index["num_frames"].isna().any():
        log.info("probing %d videos under %s (frame counts, unreadable files)", len(index), videos)
        index = probe.probe_index(index, videos, min_frames=1)
    index = assign_subsets(index, cfg.val_fraction)

    tmp = folder.with_name(f"{folder.name}.tmp-{uuid.uuid4().hex[:8]}")  # concurrent trials may prepare at once
    tmp.mkdir(parents=True, exist_ok=True)
    index.attrs["classes"] = classes
    splits.write_index(index, tmp / "index.parquet")
    (tmp / "classes.txt").write_text("".join(f"{name}\n" for name in classes))
    (tmp / "source.json").write_text(json.dumps({"root": str(videos), "layout": layout, **identity}, indent=1))
    try:
        tmp.rename(folder)
    except OSError:  # another process prepared it meanwhile: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _default_cache() -> Path:
    return synthetic.default_cache_dir()
