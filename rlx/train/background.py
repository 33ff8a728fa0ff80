"""What a Ray Train worker starts in a thread, so that it overlaps training instead of delaying it.

Importing MLflow (~1.4 s), connecting to its store and logging a run's
~50 params take a few seconds per trial. The worker does them in threads:
`BackgroundTracker` opens the run and waits for it at first use (where an
error such as an unreachable server surfaces), `in_background` starts the
system-metrics monitor. `ReadAhead` reads a stream of batches ahead of its
consumer (the final test pass, decoded during the last epoch). This module
imports neither MLflow nor Ray.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

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


class ReadAhead:
    """The batches of `source`, read in a thread up to `budget` bytes ahead of the consumer, in order.

    The thread starts at construction and holds at most `budget` bytes of batches not yet consumed (always at
    least one batch, however large); iterating yields them, then the rest as the thread reads on. An error of
    the source is raised where the consumer reaches it. Iterate once.
    """

    def __init__(self, source: Iterable[dict[str, Any]], budget: int, name: str = "read-ahead") -> None:
        self._budget = budget
        self._items: deque[tuple[dict[str, Any], int]] = deque()
        self._held = 0  # bytes in _items
        self._done = False
        self._closed = False
        self._error: BaseException | None = None
        self._changed = threading.Condition()
        # A daemon: a consumer that never comes (training failed) must not keep the worker process alive.
        threading.Thread(target=self._read, args=(source,), name=name, daemon=True).start()

    def close(self) -> None:
        """Stop reading (a stream given up on): the thread ends and the source is closed; unread batches go."""
        with self._changed:
            self._closed = True
            self._items.clear()
            self._held = 0
            self._changed.notify_all()

    def _read(self, source: Iterable[dict[str, Any]]) -> None:
        batches = iter(source)
        try:
            for batch in batches:
                size = sum(v.nbytes for v in batch.values() if isinstance(v, np.ndarray))
                with self._changed:
                    self._changed.wait_for(
                        lambda s=size: self._closed or not self._items or self._held + s <= self._budget
                    )
                    if self._closed:
                        break
                    self._items.append((batch, size))
                    self._held += size
                    self._changed.notify_all()
        except BaseException as err:  # noqa: BLE001  (handed to the consumer, raised there)
            self._error = err
        finally:
            if self._closed and hasattr(batches, "close"):
                batches.close()  # a generator (Ray Data's iterator among them) ends its work now
            with self._changed:
                self._done = True
                self._changed.notify_all()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._items or self._done)
                if not self._items:
                    if self._error is not None:
                        raise self._error
                    return
                batch, size = self._items.popleft()
                self._held -= size
                self._changed.notify_all()
            yield batch
