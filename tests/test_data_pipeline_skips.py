"""rlx.data.pipeline.skips: the exact skip log, as a plain object (the Ray actor is in the runners' tests)."""

from __future__ import annotations

from rlx.data.pipeline.skips import SkipLog, record_skips


def test_skip_log_accumulates_entries_in_order():
    log = SkipLog()
    assert log.add([("a", "file not found")]) == 1
    assert log.add([("b", "corrupt"), ("c", "no frames")]) == 3
    assert log.total() == 3
    assert log.get_entries() == [("a", "file not found"), ("b", "corrupt"), ("c", "no frames")]
    log.get_entries().clear()  # a copy: the log is unchanged
    assert log.total() == 3


def test_record_skips_to_a_plain_log_or_nowhere():
    log = SkipLog()
    record_skips(log, [("a", "x")])
    record_skips(log, [])
    record_skips(None, [("b", "y")])
    assert log.entries == [("a", "x")]
