"""Fingerprints of an index's videos: what a stat sees, and which rows changed since a recorded one."""

from __future__ import annotations

import os

import numpy as np

from rlx.data.fingerprint import ABSENT, absent, changed, fingerprint, read_fingerprint, write_fingerprint


def test_a_fingerprint_is_the_stat_of_the_file_or_rawframes_folder(tmp_path):
    (tmp_path / "C").mkdir()
    (tmp_path / "C/a.avi").write_bytes(b"12345")
    (tmp_path / "C/b").mkdir()  # rawframes folder of the index path C/b.avi
    out = fingerprint(tmp_path, ["C/a.avi", "C/b.avi", "C/none.avi"])
    st = os.stat(tmp_path / "C/a.avi")
    assert out.iloc[0].tolist() == ["C/a.avi", 5, st.st_mtime_ns, st.st_ctime_ns]
    assert out.iloc[1, 2] == os.stat(tmp_path / "C/b").st_mtime_ns
    assert out.iloc[2, 1:].tolist() == [ABSENT] * 3
    assert absent(out).tolist() == [False, False, True]


def test_changed_rows_by_hand(tmp_path):
    recorded = fingerprint(tmp_path, ["a", "b", "c"])  # all absent
    current = recorded.copy()
    current.loc[1, ["size", "mtime_ns", "ctime_ns"]] = [10, 1, 1]  # b appeared
    current.loc[2, "ctime_ns"] = 7  # c's ctime alone (a copy that kept size and mtime)
    current.loc[3] = ["d", ABSENT, ABSENT, ABSENT]  # a row that was not recorded
    assert changed(recorded, current).tolist() == [False, True, True, True]
    assert not changed(current, current).any()
    # rows are matched by path, not position
    assert not changed(current.iloc[::-1].reset_index(drop=True), current).any()


def test_a_fingerprint_round_trips_and_none_means_never_recorded(tmp_path):
    out = fingerprint(tmp_path, ["x"])
    written = write_fingerprint(out, tmp_path / "fingerprint.parquet")
    back = read_fingerprint(written)
    assert back.equals(out) and back["size"].dtype == np.int64
    assert read_fingerprint(tmp_path / "other.parquet") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fingerprint.parquet"]  # no temporary file left
