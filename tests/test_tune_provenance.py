"""A search run's provenance tags: the git commit of a checkout (or why there is none) and the description."""

from __future__ import annotations

import subprocess

from rlx.tune.provenance import DESCRIPTION_TAG, GIT_COMMIT_TAG, git_commit, search_tags


def git(cwd, *args: str) -> str:
    cmd = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def test_commit_and_dirty_flag_of_a_checkout(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "a.txt").write_text("one")
    git(tmp_path, "add", "a.txt")
    git(tmp_path, "commit", "-q", "-m", "first")
    head = git(tmp_path, "rev-parse", "HEAD")
    (tmp_path / "untracked.txt").write_text("not counted")
    assert git_commit(tmp_path) == (head, False)
    (tmp_path / "a.txt").write_text("two")
    assert git_commit(tmp_path) == (head, True)
    tags = search_tags("An ablation.", tmp_path)
    assert tags == {DESCRIPTION_TAG: "An ablation.", GIT_COMMIT_TAG: head, "rlx.git_dirty": "true"}
    assert (tmp_path / "sub").mkdir() is None and git_commit(tmp_path / "sub") == (head, True)  # from a subfolder


def test_outside_a_checkout_the_commit_tag_is_left_out_and_the_reason_recorded(tmp_path):
    assert git_commit(tmp_path) == (None, False)
    tags = search_tags("d", tmp_path)
    assert tags[DESCRIPTION_TAG] == "d" and GIT_COMMIT_TAG not in tags
    assert tags["rlx.git_commit_missing"] == f"{tmp_path.resolve()} is not a git checkout (or git is not installed)"
