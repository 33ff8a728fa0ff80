"""A run's data on the worker side: the prepared index opened, and batches per epoch.

`TrialData` is the `BatchSource` that `rlx.train.fit.fit` consumes. Its
batches come from a stream function: `ray_stream` decodes in Ray Data tasks
(a Ray Train run), `local_stream` in the calling process (`--local`); both
yield the same batches for the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from rlx.config import RunConfig
from rlx.data import splits
from rlx.data.pipeline import (
    EpochSplitter,
    Mode,
    PipelineSpec,
    action_rows,
    build_dataset,
    epoch_rows,
    epochs_rows,
    index_rows,
    iter_local,
    rebatch,
)
from rlx.data.transforms import NORM_STATS
from rlx.train.background import ReadAhead
from rlx.train.loop import Batch, Normalizer
from rlx.train.prepare import DataSource


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

    Training samples are the train videos, or for a Charades-format index
    its annotated actions (`train_rows`, `data.charades_train`); test batches
    hold about `eval.view_budget` views (`test_batch_size`).
    Every rank takes a disjoint shard of each subset (`epoch_rows`); training
    rows are reshuffled per epoch and each video draws its segments and
    crops from (seed, epoch, video), so a resumed epoch sees exactly the
    batches an uninterrupted run would have. Batches come from `stream`:
    Ray Data tasks (`ray_stream`, one dataset per `data.stream_epochs`
    training epochs) or the calling process (`local_stream`), the same
    batches either way.
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
        self._val_replay: dict[tuple[int, int], list[Batch]] = {}  # (rank, world) -> decoded validation batches
        # (rank, world) -> its training stream and the reader that feeds it
        self._feeds: dict[tuple[int, int], tuple[EpochSplitter, ReadAhead]] = {}
        self._final: dict[tuple[int, int], ReadAhead] = {}  # (rank, world) -> its final pass, started early

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

    def test_batch_size(self) -> int:
        """Videos per test batch: as many as `eval.view_budget` views hold, at least one.

        A batch is decoded frames in host memory: Charades' 10 clips × 4 groups ×
        5 crops are 200 views (~240 MB at T = 8, 224²) per video, so a training-size
        batch of 24 would be ~6 GB, and Ray Data prefetches two. The forward passes
        are `view_budget` views either way (`rlx.train.loop.predict`).
        """
        return max(1, self.cfg.eval.view_budget // self.spec("test").num_views)

    def train_rows(self) -> list[dict]:
        """One epoch's training samples: the videos, or Charades' annotated actions (`data.charades_train`)."""
        rows = self.rows("train")
        if "segments" in self.index.columns:  # a Charades-format index: the paper trains on the actions
            return action_rows(rows, self.cfg.data.charades_train)
        return rows

    def _stream(self, mode: Mode, all_rows: list[dict], epoch: int, rank: int, world: int, shuffle: bool):
        rows = epoch_rows(all_rows, epoch, self.cfg.train.seed, rank, world, shuffle=shuffle)
        if not rows:
            return iter(())
        batch_size = self.test_batch_size() if mode == "test" else self.batch_size(world)
        return self.stream(self.spec(mode), rows, epoch, batch_size)

    def train_batches(self, epoch: int, rank: int, world: int) -> Iterable[Batch]:
        """Epoch `epoch`'s batches, from a stream over up to `data.stream_epochs` epochs started here.

        Epochs asked for in order continue the stream; any other (a resumed run, the first epoch, a
        repeated one) starts a new stream at that epoch, which starts decoding at once (one batch is read
        ahead). The batches are those of a stream per epoch.
        """
        key = (rank, world)
        if epoch == self.cfg.optim.epochs - 1 and self.cfg.data.final_read_ahead_mb and key not in self._final:
            # The last epoch: its batches are decoded already or nearly (a stream runs ahead), so the decode
            # tasks start on the final pass now and this rank reads it ahead while it trains.
            self._final[key] = ReadAhead(self._final_stream(rank, world), self.cfg.data.final_read_ahead_mb * 2**20)
        feed, reader = self._feeds.get(key, (None, None))
        if feed is None or reader is None or feed.next_epoch != epoch:
            if reader is not None:
                reader.close()  # a stream left for another: its reads and decode tasks stop
            last = min(epoch + self.cfg.data.stream_epochs, self.cfg.optim.epochs)
            epochs = range(epoch, max(last, epoch + 1))
            rows = epochs_rows(self.train_rows(), epochs, self.cfg.train.seed, rank, world)
            if not rows:
                return iter(())
            batch_size = self.batch_size(world)
            # Read one batch ahead from the start: decoding begins when the stream is asked for, not at its
            # first batch, so `fit` can ask before it builds the model (see there).
            reader = ReadAhead(self.stream(self.spec("train"), rows, epoch, batch_size), budget=0, name="train-feed")
            feed = EpochSplitter(reader, epochs, batch_size)
            self._feeds[key] = (feed, reader)
        return feed.epoch(epoch)

    def val_batches(self, rank: int, world: int) -> Iterable[Batch]:
        """The validation hold-out, one centre view (fast, every epoch).

        The same batches every epoch, so they are decoded once and replayed from memory while this rank's
        share fits `data.val_cache_mb` (a larger share is decoded every epoch)."""
        key = (rank, world)
        if key in self._val_replay:
            return iter(self._val_replay[key])
        batches = self._stream("val", self.rows("val"), 0, rank, world, shuffle=False)
        budget = self.cfg.data.val_cache_mb * 2**20
        return self._recorded(batches, key, budget) if budget else batches

    def _recorded(self, batches: Iterable[Batch], key: tuple[int, int], budget: int) -> Iterator[Batch]:
        """`batches`, kept for `val_batches` to replay if the whole pass arrives and stays within `budget` bytes."""
        kept: list[Batch] | None = []
        size = 0
        for batch in batches:
            if kept is not None:
                size += sum(v.nbytes for v in batch.values() if isinstance(v, np.ndarray))
                if size <= budget:
                    # Owned copies: Ray Data's arrays are read-only views that pin object-store blocks.
                    batch = {k: np.array(v) if isinstance(v, np.ndarray) else v for k, v in batch.items()}
                    kept.append(batch)
                else:
                    kept = None
            yield batch
        if kept is not None:  # only a complete pass: an interrupted one must not replay as the whole hold-out
            self._val_replay[key] = kept

    def test_batches(self, rank: int, world: int) -> Iterable[Batch]:
        return self._stream("test", self.rows("test"), 0, rank, world, shuffle=False)

    def final_batches(self, rank: int, world: int) -> Iterable[Batch]:
        """Test and the validation hold-out under the test protocol in one pass: one dataset run, not two
        (each costs a Ray Data start-up, a fixed second or two per trial). Started with the last training
        epoch when `data.final_read_ahead_mb` > 0 (see `train_batches`); a run resumed after its last epoch
        starts it here."""
        started = self._final.pop((rank, world), None)
        return started if started is not None else self._final_stream(rank, world)

    def _final_stream(self, rank: int, world: int) -> Iterable[Batch]:
        return self._stream("test", self.rows("test") + self.rows("val"), 0, rank, world, shuffle=False)
