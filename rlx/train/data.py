"""A run's dataset: prepared once by the launcher, opened by every worker.

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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rlx.config import DataConfig, RunConfig
from rlx.data import probe, splits, synthetic
from rlx.data.pipeline import Mode, PipelineSpec, build_dataset, epoch_rows, index_rows, iter_local
from rlx.data.transforms import NORM_STATS
from rlx.train.loop import Batch, Normalizer

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


def rebatch(batches: Iterable[Batch], batch_size: int) -> Iterator[Batch]:
    """Consecutive rows of `batches` in batches of exactly `batch_size` (the last one may be smaller).

    What Ray Data's `iter_batches(batch_size=...)` does to the decode tasks' output: columns are
    concatenated across decode batches, so videos dropped by a failed decode shift later videos forward.
    """
    pending: list[Batch] = []
    held = 0
    for batch in batches:
        pending.append(batch)
        held += len(batch["video_id"])
        while held >= batch_size:
            joined = {key: np.concatenate([b[key] for b in pending]) for key in pending[0]}
            yield {key: column[:batch_size] for key, column in joined.items()}
            rest = {key: column[batch_size:] for key, column in joined.items()}
            held -= batch_size
            pending = [rest] if held else []
    if held:
        yield {key: np.concatenate([b[key] for b in pending]) for key in pending[0]}


def ray_stream(spec: PipelineSpec, rows: list[dict], epoch: int, batch_size: int) -> Iterable[Batch]:
    """Batches decoded by Ray Data tasks (`build_dataset`), `batch_size` videos each, in row order."""
    return build_dataset(spec, rows, epoch).iter_batches(
        batch_size=batch_size, batch_format="numpy", prefetch_batches=2
    )


def local_stream(spec: PipelineSpec, rows: list[dict], epoch: int, batch_size: int) -> Iterable[Batch]:
    """The same batches decoded in the calling process (`iter_local`): no Ray, steppable in a debugger.

    Decoded in `decode_batch_size` chunks and re-batched to `batch_size` videos, as Ray Data's
    `iter_batches` does, so a local run sees exactly the batches of a Ray run.
    """
    return rebatch(iter_local(spec, rows, epoch, spec.decode_batch_size), batch_size)


Stream = Callable[[PipelineSpec, list[dict], int, int], Iterable[Batch]]


class TrialData:
    """Worker side: the prepared index, the class list and per-epoch batch streams (a `fit` BatchSource).

    Every rank takes a disjoint shard of each subset (`epoch_rows`); training
    rows are reshuffled per epoch and each video draws its segments and
    crops from (seed, epoch, video), so a resumed epoch sees exactly the
    batches an uninterrupted run would have. Batches come from `stream`:
    Ray Data tasks (`ray_stream`, a dataset built per epoch) or the calling
    process (`local_stream`), the same batches either way.
    """

    def __init__(
        self,
        index: pd.DataFrame,
        class_names: list[str],
        source: DataSource,
        cfg: RunConfig,
        stream: Stream = ray_stream,
    ) -> None:
        self.index = index
        self.class_names = class_names
        self.source = source
        self.cfg = cfg
        self.stream = stream

    @classmethod
    def open(cls, folder: Path, cfg: RunConfig, stream: Stream = ray_stream) -> TrialData:
        meta = json.loads((folder / "source.json").read_text())
        classes = (folder / "classes.txt").read_text().splitlines()
        index = splits.read_index(folder / "index.parquet")
        return cls(index, classes, DataSource(meta["root"], meta["layout"]), cfg, stream)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def normalizer(self) -> Normalizer:
        mean, std = NORM_STATS[self.cfg.data.modality]
        return Normalizer(mean, std)

    def spec(self, mode: Mode) -> PipelineSpec:
        return PipelineSpec.from_config(
            self.cfg.data, mode, self.source.root, self.num_classes, self.cfg.train.seed, evaluation=self.cfg.eval
        )

    def rows(self, subset: str) -> list[dict]:
        return index_rows(self.index[self.index["subset"] == subset])

    def batch_size(self, world: int) -> int:
        return max(1, self.cfg.optim.batch_size // world)

    def _stream(self, mode: Mode, subsets: tuple[str, ...], epoch: int, rank: int, world: int, shuffle: bool):
        all_rows = [row for name in subsets for row in self.rows(name)]
        rows = epoch_rows(all_rows, epoch, self.cfg.train.seed, rank, world, shuffle=shuffle)
        if not rows:
            return iter(())
        return self.stream(self.spec(mode), rows, epoch, self.batch_size(world))

    def train_batches(self, epoch: int, rank: int, world: int) -> Iterable[Batch]:
        return self._stream("train", ("train",), epoch, rank, world, shuffle=True)

    def val_batches(self, rank: int, world: int) -> Iterable[Batch]:
        """The validation hold-out, one centre view (fast, every epoch)."""
        return self._stream("val", ("val",), 0, rank, world, shuffle=False)

    def test_batches(self, rank: int, world: int) -> Iterable[Batch]:
        return self._stream("test", ("test",), 0, rank, world, shuffle=False)

    def final_batches(self, rank: int, world: int) -> Iterable[Batch]:
        """Test and the validation hold-out under the test protocol in one pass: one dataset run, not two
        (each costs a Ray Data start-up, a fixed second or two per trial)."""
        return self._stream("test", ("test", "val"), 0, rank, world, shuffle=False)
