"""The three interfaces through which `rlx.train.fit.fit` meets the world outside PyTorch.

Each has one implementation for a run on Ray Train and one for a run in the
calling process, so `fit` itself imports neither Ray nor MLflow:

    BatchSource      rlx.train.data.TrialData (ray_stream | local_stream)
    CheckpointStore  rlx.train.worker.RayTrainStore | rlx.train.checkpoint.FolderStore
    Tracker          rlx.tracking.RunTracker (rlx.train.tracker.BackgroundTracker on Ray) | None
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from rlx.train.checkpoint import TrainState
from rlx.train.loop import Batch, Normalizer


class BatchSource(Protocol):
    """A run's data, as `fit` consumes it (implemented by `rlx.train.data.TrialData`)."""

    class_names: list[str]

    @property
    def num_classes(self) -> int: ...

    @property
    def normalizer(self) -> Normalizer: ...

    def rows(self, subset: str) -> list[dict]: ...

    def train_rows(self) -> list[dict]:
        """One epoch's training samples (the train videos, or Charades' annotated actions)."""
        ...

    def train_batches(self, epoch: int, rank: int, world: int) -> Iterable[Batch]: ...

    def val_batches(self, rank: int, world: int) -> Iterable[Batch]: ...

    def final_batches(self, rank: int, world: int) -> Iterable[Batch]: ...


class CheckpointStore(Protocol):
    """Where a run's epochs are saved and found again; every rank calls `save`/`report` equally often."""

    folder: Path  # the run's local folder: progress.log, the fault-injection marker

    def latest(self) -> TrainState | None: ...

    def save(self, epoch: int, metrics: Mapping[str, float], write: Callable[[Path], Any] | None) -> None:
        """Record an epoch: its metrics, and its state when `write` is given (rank 0 writes into a folder)."""
        ...

    def report(self, metrics: Mapping[str, float]) -> None:
        """Metrics without a new checkpoint (a finished run tested again after a restart)."""
        ...

    def wait_until_saved(self) -> None:
        """Block until every earlier `save` is durable (Ray Train registers checkpoints asynchronously)."""
        ...

    def location(self, epoch: int) -> str: ...


class Tracker(Protocol):
    """The rank-0 side of experiment tracking (`rlx.tracking.RunTracker` implements it)."""

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None: ...

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None: ...

    def set_tags(self, tags: Mapping[str, Any]) -> None: ...

    def finish(self, status: str = "FINISHED") -> None: ...
