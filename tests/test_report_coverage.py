"""rlx.report.coverage: test videos covered of the test set, per run and per row, and how it is marked."""

from __future__ import annotations

import math

from report_runs import run

from rlx.report.coverage import Coverage, over_splits, run_coverage, runs_coverage, same_test_set
from rlx.report.format import Record, make_table


def test_a_runs_logged_counts_and_an_old_run_without_them():
    got = run_coverage(run("a", {"test/videos": 95, "data/excluded/test": 6}))
    assert (got.covered, got.excluded, got.total, got.status) == (95, 6, 101, "incomplete")
    assert run_coverage(run("b", {"test/videos": 101, "data/excluded/test": 0})).status == "complete"
    old = run_coverage(run("c", {"test/top1": 0.5}))  # logged before the counts existed
    assert (old.covered, old.excluded, old.total, old.incomplete, old.status) == (None, None, None, False, "unknown")
    assert run_coverage({"metric:test/videos": math.nan, "metric:data/excluded/test": 2.0}) == Coverage(None, 2)
    decoded = run("d", {"test/videos": 97, "data/excluded/test": 3, "data/test_skipped": 1})  # 1 failed at test
    assert run_coverage(decoded) == Coverage(97, 4) and run_coverage(decoded).total == 101
    assert run_coverage(run("e", {"test/videos": 99, "data/test_skipped": 2})) == Coverage(99, 2)  # probe unlogged


def test_runs_of_one_test_set_give_the_worst_coverage():
    seeds = [
        run("a", {"test/videos": 101, "data/excluded/test": 0}),
        run("b", {"test/videos": 99, "data/excluded/test": 2}),
    ]
    assert runs_coverage(seeds) == Coverage(99, 2)
    assert same_test_set([Coverage(101, 0), Coverage()]) == Coverage(None, None)  # one unknown run: unknown
    assert same_test_set([Coverage(99, 2), Coverage()]) == Coverage(None, 2)  # but a known gap still marks it
    assert same_test_set([]) == Coverage()


def test_splits_add_their_test_sets_up():
    assert over_splits([Coverage(100, 1), Coverage(98, 3), Coverage(101, 0)]) == Coverage(299, 4)
    assert over_splits([Coverage(100, 0), Coverage()]) == Coverage(None, None)
    assert over_splits([Coverage(100, 5), Coverage()]).incomplete


def test_footnote_gives_covered_of_total():
    assert Coverage(3700, 83).footnote().startswith("incomplete test set: 3,700 of 3,783 test videos (83 left out")
    assert Coverage(None, 2).footnote().startswith("incomplete test set: an unknown number test videos (2 left out")


def test_incomplete_rows_are_marked_in_the_first_column_with_numbered_footnotes():
    records = [
        Record().add("dataset", "ucf101").add_coverage(Coverage(95, 6)),
        Record().add("dataset", "ucf101").add_coverage(Coverage(101, 0)),
        Record().add("dataset", "hmdb51").add_coverage(Coverage(40, 2)),
        Record().add("dataset", "ucf101").add_coverage(Coverage(95, 6)),  # the same footnote as row 0
        Record().add("dataset", "old").add_coverage(Coverage()),
    ]
    table = make_table("t", "T", "", records)
    assert list(table.display()["dataset"]) == ["ucf101 †1", "ucf101", "hmdb51 †2", "ucf101 †1", "old"]
    assert table.footnotes == [Coverage(95, 6).footnote(), Coverage(40, 2).footnote()]
    assert list(table.frame["test set"]) == ["incomplete", "complete", "incomplete", "incomplete", "unknown"]
    assert list(table.frame["test videos left out"].fillna(-1)) == [6, 0, 2, 6, -1]
    big = make_table("t", "T", "", [Record().add_coverage(Coverage(13320, 0)), Record().add_coverage(Coverage())])
    assert list(big.display()["test videos"]) == ["13320", "–"]  # a count, not "1.332e+04"
    assert (table.count("incomplete"), table.count("complete"), table.count("unknown")) == (3, 1, 1)
    plain = make_table("t", "T", "", [Record().add("dataset", "ucf101")])
    assert plain.coverage == () and plain.footnotes == [] and list(plain.display()["dataset"]) == ["ucf101"]
