"""What a run needs besides its config: its name, where to store, track and find data.

Resolved by the launcher (`python -m rlx.train`, a Tune trial) to absolute
paths and handed to the run as it is: Ray Train workers chdir into their own
folders and see none of the launcher's environment.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RunContext:
    """Everything a run needs besides its `RunConfig`."""

    name: str  # deterministic: the Ray Train run name and the MLflow run key
    storage: str  # absolute folder (or pyarrow URI) for checkpoints
    tracking_uri: str
    experiment: str
    dataset_dir: str  # absolute: prepared index + class list (see rlx.train.data)
    parent_run_id: str = ""  # MLflow parent (the search run) for Tune trials
    group: str = ""  # the search group (axes point) of a Tune trial, e.g. "data.modality=rgb"
    command: str = ""  # the command line that reproduces this run (reports show it)
    kind: str = ""  # MLflow tag rlx.kind: "" = "trial" under a search run, else "run"; "refit" (rlx.tune.refit)
    tags: dict[str, str] = field(default_factory=dict)  # more MLflow tags (e.g. which trial a refit repeats)

    @property
    def run_kind(self) -> str:
        return self.kind or ("trial" if self.parent_run_id else "run")

    @property
    def run_folder(self) -> Path:
        """The run's local folder (progress log, checkpoints); a temporary one when storage is a URI."""
        if "://" in self.storage:
            return Path(tempfile.gettempdir()) / self.name
        return Path(self.storage) / self.name

    @property
    def checkpoint_root(self) -> str:
        """Where the run's checkpoints are, for people and for the MLflow tag."""
        return str(self.run_folder) if "://" not in self.storage else f"{self.storage}/{self.name}"


def default_storage() -> str:
    return os.environ.get("RLX_STORAGE") or str((Path.cwd() / "runs").resolve())


def run_name_for(flat: dict[str, Any], prefix: str = "run") -> str:
    """A name derived from the config: the same command resumes the same run."""
    digest = hashlib.sha1(json.dumps(flat, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return f"{prefix}-{digest}"


def run_exists(storage: str, name: str) -> bool:
    return "://" not in storage and (Path(storage) / name).exists()
