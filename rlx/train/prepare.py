"""A run's dataset, prepared once by the launcher before any worker starts.

`prepare_dataset` (launcher side, before Ray Train starts) resolves the
config's data keys into a folder holding
    index.parquet    the split's videos, probed (num_frames, status), with a
                     `subset` column: train | val | test
    classes.txt      class names in class-id order
    class_map.json   each class id -> its id and name in the source index (a `data.classes` subset
                     renumbers the kept classes 0..k-1)
    source.json      where the frames are (videos or rawframes root, modality)
    excluded.csv     the videos left out (missing, corrupt, too short) and why (rlx.train.accounting)
    fingerprint.parquet  size/mtime/ctime of every video when probed: each run re-probes what changed
                     (rlx.train.freshness), so a repaired or added video is not excluded by a stale status
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

from rlx.config import ConfigError, DataConfig
from rlx.data import splits, synthetic
from rlx.train import accounting, freshness

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
    if cfg.dataset == "custom" and not cfg.index:
        raise DatasetNotFound(
            "data.index is empty: data.dataset=custom trains on an index.parquet written by "
            "`python -m rlx.data index --format ...` (see README, 'Dataset formats')"
        )
    if cfg.index:
        return None, _require(cfg.index, "data.index", cfg.dataset), videos
    return _require(cfg.annotations, "data.annotations", cfg.dataset), None, videos


def prepare_dataset(cfg: DataConfig, cache_dir: Path | None = None) -> Path:
    """The prepared folder for `cfg` (created on first use); returns its absolute path."""
    annotations, index_path, videos = resolve_paths(cfg)
    # RGB reads video files at the index paths; flow reads <root>/<video_id>/flow_{x,y}_*.jpg
    # as written by `rlx.data flow` (TSN's layout).
    meta = splits.index_meta(index_path) if index_path is not None else {"format": cfg.dataset, "media": "video"}
    layout = "video" if cfg.modality == "rgb" and meta["media"] == "video" else "frames"
    identity = {
        "v": PREPARED_VERSION,
        "dataset": cfg.dataset,
        "split": cfg.split,
        "annotations": str(annotations),
        "index": str(index_path),
        "videos": str(videos),
        "layout": layout,
        "val_fraction": cfg.val_fraction,
        "format": meta["format"],
        "classes": list(cfg.classes),
    }
    digest = hashlib.sha1(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    base = cache_dir or (Path(cfg.cache_dir) if cfg.cache_dir else _default_cache())
    folder = (base / "prepared" / f"{cfg.dataset}-split{cfg.split}-{digest}").resolve()
    if (folder / "index.parquet").is_file() and (folder / "source.json").is_file():
        index = freshness.refresh(folder, videos)
        accounting.check_test_set(index, cfg.max_missing_test, folder)
        return folder

    if index_path is not None:
        index = splits.read_index(index_path)
    else:
        index = splits.build_index(
            "ucf101" if cfg.dataset == "synthetic" else cfg.dataset, annotations, split=cfg.split
        )
    check_index_fits(index, cfg, index_path)
    if cfg.classes:
        try:
            index = splits.select_classes(index, cfg.classes)
        except ValueError as err:  # a name or id not in this dataset: the config's mistake, exit 2 with the key
            raise ConfigError(str(err)) from None
    classes = list(index.attrs["classes"])
    class_map = index.attrs.get("class_map") or list(range(len(classes)))
    if layout == "frames" and meta["media"] == "video":  # flow of videos: `rlx.data flow` names folders by video id
        index = index.assign(path=index["video_id"])
    index, fingerprint, _ = freshness.probe_stale(index, videos, recorded=None)
    index = assign_subsets(index, cfg.val_fraction)

    tmp = folder.with_name(f"{folder.name}.tmp-{uuid.uuid4().hex[:8]}")  # concurrent trials may prepare at once
    tmp.mkdir(parents=True, exist_ok=True)
    index.attrs["classes"] = classes
    splits.write_index(index, tmp / "index.parquet")
    (tmp / "classes.txt").write_text("".join(f"{name}\n" for name in classes))
    pairs = enumerate(zip(class_map, classes, strict=True))
    mapping = [{"id": i, "source_id": int(src), "name": name} for i, (src, name) in pairs]
    (tmp / "class_map.json").write_text(json.dumps(mapping, indent=1))
    (tmp / "source.json").write_text(json.dumps({"root": str(videos), "layout": layout, **identity}, indent=1))
    freshness.record(tmp, index, fingerprint, videos)
    try:
        tmp.rename(folder)
    except OSError:  # another process prepared it meanwhile: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    accounting.check_test_set(index, cfg.max_missing_test, folder)
    return folder


def check_index_fits(index: pd.DataFrame, cfg: DataConfig, index_path: Path | None) -> None:
    """An index of another format is not an official dataset, and its labels must be what data.multilabel says."""
    fmt = index.attrs.get("format") or cfg.dataset
    if cfg.dataset in splits.DATASETS and fmt != cfg.dataset:
        raise ConfigError(
            f"data.dataset={cfg.dataset} but {index_path} was indexed from format {fmt}: "
            "set data.dataset=custom (the paper's numbers apply to the official dataset only)"
        )
    multilabel = bool(len(index)) and bool((index["label"] == -1).all())
    if multilabel != cfg.multilabel:
        kind = "multi" if multilabel else "single"
        raise ConfigError(f"data.multilabel={cfg.multilabel} but {index_path or cfg.dataset} is {kind}-label")


def _default_cache() -> Path:
    return synthetic.default_cache_dir()
