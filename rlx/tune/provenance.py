"""What a search run records about where it came from: the git commit of the code and the space's description.

The commit is `git rev-parse HEAD` of the working directory, as MLflow's own
tag `mlflow.source.git.commit` (the MLflow UI shows it on the run page), with
`rlx.git_dirty` saying whether tracked files differ from it. Outside a git
checkout (or without git) there is no commit to record: the tag is left out
and `rlx.git_commit_missing` says why, so a reader sees it was looked for.
The description goes to `mlflow.note.content`, the run's Description in the UI.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

GIT_COMMIT_TAG = "mlflow.source.git.commit"
DESCRIPTION_TAG = "mlflow.note.content"


def _git(cwd: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):  # no git installed, or a hung file system
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_commit(cwd: str | Path) -> tuple[str | None, bool]:
    """(HEAD's commit, tracked files modified) of the checkout at `cwd`; (None, False) outside one."""
    commit = _git(Path(cwd), "rev-parse", "--verify", "HEAD")
    if not commit:
        return None, False
    status = _git(Path(cwd), "status", "--porcelain", "--untracked-files=no")
    return commit, bool(status)


def search_tags(description: str, cwd: str | Path) -> dict[str, str]:
    """The provenance tags of a search's parent run."""
    tags = {DESCRIPTION_TAG: description}
    commit, dirty = git_commit(cwd)
    if commit:
        tags[GIT_COMMIT_TAG] = commit
        tags["rlx.git_dirty"] = str(dirty).lower()
    else:
        tags["rlx.git_commit_missing"] = f"{Path(cwd).resolve()} is not a git checkout (or git is not installed)"
    return tags
