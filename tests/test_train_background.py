"""Work a Ray Train worker starts in a thread: the MLflow run opened while the first epoch trains."""

from __future__ import annotations

import threading

import pytest

from rlx.train.background import BackgroundTracker, in_background


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
