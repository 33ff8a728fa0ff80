"""MLflow, and the only module that imports it.

Runs are addressed by a deterministic key (the run or trial id, never a
timestamp) stored in the tag `rlx.run_key`: opening the same key again —
a resumed run, a restarted worker group — continues the same MLflow run
instead of creating a new one. Everything goes through an explicit
`MlflowClient` (no fluent-API global "active run"), so code running in Ray
workers and in the driver cannot step on each other.

The tracking URI comes from `MLFLOW_TRACKING_URI`; the default is a SQLite
store `mlruns.db` in the working directory, with artifacts in `mlartifacts/`
beside it. Paths are made absolute here because Ray Train workers chdir
into their own run folders.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunStatus

RUN_KEY_TAG = "rlx.run_key"
PARENT_TAG = "mlflow.parentRunId"
MAX_PARAM_LENGTH = 6000  # MLflow's limit on a param value


def default_tracking_uri(workdir: str | Path | None = None) -> str:
    """`MLFLOW_TRACKING_URI`, else `sqlite:///<abs workdir>/mlruns.db`."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    root = Path(workdir or Path.cwd()).resolve()
    return f"sqlite:///{root / 'mlruns.db'}"


def artifact_root_for(uri: str) -> str | None:
    """Absolute artifact folder beside a local SQLite store; None lets a server decide."""
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts").resolve().as_uri()
    return None


@dataclass
class RunTracker:
    """One MLflow run, written through an explicit client."""

    client: MlflowClient
    run_id: str
    experiment_id: str

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log a flat config; already-logged identical params (a resumed run) are skipped."""
        existing = self.client.get_run(self.run_id).data.params
        fresh = []
        for key, value in params.items():
            text = str(value)[:MAX_PARAM_LENGTH]
            if key in existing:
                if existing[key] != text:
                    raise ValueError(f"MLflow run {self.run_id} already has {key}={existing[key]!r}, not {text!r}")
                continue
            fresh.append(Param(key, text))
        for start in range(0, len(fresh), 100):  # MLflow caps a batch at 100 params
            self.client.log_batch(self.run_id, params=fresh[start:start + 100], synchronous=True)

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, step) for k, v in metrics.items() if v is not None and math.isfinite(float(v))]
        if batch:
            self.client.log_batch(self.run_id, metrics=batch, synchronous=True)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        for key, value in tags.items():
            self.client.set_tag(self.run_id, key, str(value))

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(path), artifact_path)

    def log_text(self, text: str, artifact_file: str) -> None:
        self.client.log_text(self.run_id, text, artifact_file)

    def finish(self, status: str = "FINISHED") -> None:
        self.client.set_terminated(self.run_id, status)

    def metric_history(self, key: str) -> list[tuple[int, float]]:
        return [(m.step, m.value) for m in self.client.get_metric_history(self.run_id, key)]


def get_or_create_experiment(client: MlflowClient, name: str, uri: str) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    try:
        return client.create_experiment(name, artifact_location=artifact_root_for(uri))
    except Exception:  # created concurrently by another worker or trial: use theirs
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


def find_run(experiment: str, run_key: str, tracking_uri: str | None = None) -> RunTracker | None:
    """The run with this key, read-only (its status is left as it is); None if absent."""
    client = MlflowClient(tracking_uri=tracking_uri or default_tracking_uri())
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return None
    found = client.search_runs([exp.experiment_id], filter_string=f"tags.`{RUN_KEY_TAG}` = '{run_key}'", max_results=1)
    return RunTracker(client, found[0].info.run_id, exp.experiment_id) if found else None


def open_run(
    experiment: str,
    run_key: str,
    *,
    run_name: str | None = None,
    parent_run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    tracking_uri: str | None = None,
) -> RunTracker:
    """The run tagged `rlx.run_key = run_key` in `experiment`, created if absent, marked RUNNING."""
    uri = tracking_uri or default_tracking_uri()
    client = MlflowClient(tracking_uri=uri)
    experiment_id = get_or_create_experiment(client, experiment, uri)
    found = client.search_runs([experiment_id], filter_string=f"tags.`{RUN_KEY_TAG}` = '{run_key}'", max_results=1)
    if found:
        run_id = found[0].info.run_id
        client.update_run(run_id, status=RunStatus.to_string(RunStatus.RUNNING))
    else:
        all_tags = {RUN_KEY_TAG: run_key, **(tags or {})}
        if parent_run_id:
            all_tags[PARENT_TAG] = parent_run_id
        run_id = client.create_run(experiment_id, tags={k: str(v) for k, v in all_tags.items()}, run_name=run_name or run_key).info.run_id
    return RunTracker(client, run_id, experiment_id)
