"""What a Ray Train worker starts in a thread, so that it overlaps the first epoch instead of delaying it.

Importing MLflow (~1.4 s), connecting to its store and logging a run's
~50 params take a few seconds per trial. The worker does them in threads:
`BackgroundTracker` opens the run and waits for it at first use (where an
error such as an unreachable server surfaces), `in_background` starts the
system-metrics monitor. This module imports neither MLflow nor Ray.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def in_background(start: Callable[[], T], name: str = "rlx-background") -> Future[T]:
    """`start()` in a thread of its own; the future holds its result (or raises its error)."""
    return ThreadPoolExecutor(1, thread_name_prefix=name).submit(start)


class BackgroundTracker:
    """A `Tracker` whose run is opened in a thread; each call waits for it (only the first one can block)."""

    def __init__(self, open_tracker: Callable[[], Any]) -> None:
        self._future: Future = in_background(open_tracker, name="mlflow")

    def _tracker(self) -> Any:
        return self._future.result()

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        self._tracker().log_metrics(metrics, step)

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        self._tracker().log_artifact(path, artifact_path)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._tracker().set_tags(tags)

    def finish(self, status: str = "FINISHED") -> None:
        self._tracker().finish(status)
