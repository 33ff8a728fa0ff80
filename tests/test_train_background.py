"""Work a Ray Train worker starts in a thread: the MLflow run opened while the first epoch trains, the final
pass read ahead while the last one trains."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from rlx.train.background import BackgroundTracker, ReadAhead, in_background


def test_background_tracker_opens_once_in_another_thread_and_delegates():
    calls, threads = [], []

    class Fake:
        def log_metrics(self, metrics, step):
            calls.append(("metrics", dict(metrics), step))

        def set_tags(self, tags):
            calls.append(("tags", dict(tags)))

        def finish(self, status="FINISHED"):
            calls.append(("finish", status))

    def opener():
        threads.append(threading.current_thread().name)
        return Fake()

    tracker = BackgroundTracker(opener)
    tracker.log_metrics({"a": 1.0}, step=2)
    tracker.set_tags({"t": "v"})
    tracker.finish()
    assert calls == [("metrics", {"a": 1.0}, 2), ("tags", {"t": "v"}), ("finish", "FINISHED")]
    assert len(threads) == 1 and threads[0].startswith("mlflow")


def test_in_background_runs_once_in_its_own_thread_and_keeps_errors():
    names = []
    assert in_background(lambda: names.append(threading.current_thread().name) or 7, name="probe").result() == 7
    assert names[0].startswith("probe")

    def fail():
        raise RuntimeError("store unreachable")

    with pytest.raises(RuntimeError, match="store unreachable"):
        in_background(fail).result()


def _batches(n: int, pulled: list[int], fail_at: int | None = None):
    """n batches of 100 bytes (`frames`) and a label, noting in `pulled` each one the reader takes."""
    for i in range(n):
        if i == fail_at:
            raise OSError(f"batch {i} unreadable")
        pulled.append(i)
        yield {"frames": np.full(100, i, np.uint8), "label": np.asarray([i])}


def _settle(pulled: list[int], count: int) -> None:
    deadline = time.monotonic() + 10
    while len(pulled) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # and a moment longer: a reader that would overshoot does so now


def test_read_ahead_holds_at_most_its_budget_and_yields_everything_in_order():
    pulled: list[int] = []
    ahead = ReadAhead(_batches(6, pulled), budget=250)  # 108 bytes a batch: two held, a third read and waiting
    _settle(pulled, 3)
    assert pulled == [0, 1, 2]
    batches = iter(ahead)
    assert int(next(batches)["label"][0]) == 0
    _settle(pulled, 4)
    assert pulled == [0, 1, 2, 3]  # one taken, one more read
    assert [int(b["label"][0]) for b in batches] == [1, 2, 3, 4, 5]
    big: list[int] = []
    assert len(list(ReadAhead(_batches(3, big), budget=1))) == 3  # a batch over the budget still passes


def test_read_ahead_raises_the_sources_error_where_the_consumer_reaches_it():
    ahead = ReadAhead(_batches(5, [], fail_at=2), budget=10_000)
    got = []
    with pytest.raises(OSError, match="batch 2 unreadable"):
        for batch in ahead:
            got.append(int(batch["label"][0]))
    assert got == [0, 1]


def test_a_closed_read_ahead_stops_reading_and_closes_its_source():
    pulled: list[int] = []
    closed = threading.Event()

    def source():
        try:
            yield from _batches(100, pulled)
        finally:
            closed.set()

    ahead = ReadAhead(source(), budget=0)
    _settle(pulled, 2)
    ahead.close()
    assert closed.wait(10) and len(pulled) == 2  # no read after the close, the generator finished
    assert list(ahead) == []  # nothing left to hand out
