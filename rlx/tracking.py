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

import json
import logging
import math
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunStatus, RunTag
from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor
from mlflow.utils.mlflow_tags import MLFLOW_RUN_NAME

RUN_NAME_TAG = MLFLOW_RUN_NAME  # MLflow keeps a run's name as this tag
RUN_KEY_TAG = "rlx.run_key"
PARENT_TAG = "mlflow.parentRunId"
MAX_PARAM_LENGTH = 6000  # MLflow's limit on a param value
DATASET_CONTEXT_TAG = "mlflow.data.context"  # what the MLflow UI shows beside a run's dataset (train, eval, ...)
SYSTEM_METRICS_INTERVAL_S = 10.0  # seconds between samples of a run's system metrics (one MLflow step each)
RUN_POLL_S = 1.0  # how often system metrics look for their run until it is RUNNING

log = logging.getLogger(__name__)


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
            self.client.log_batch(self.run_id, params=fresh[start : start + 100], synchronous=True)

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        now = int(time.time() * 1000)
        batch = [
            Metric(k, float(v), now, step) for k, v in metrics.items() if v is not None and math.isfinite(float(v))
        ]
        if batch:
            self.client.log_batch(self.run_id, metrics=batch, synchronous=True)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        if tags:  # one request, not one per tag: each is a round trip (a SQLite transaction locally)
            batch = [RunTag(key, str(value)) for key, value in tags.items()]
            self.client.log_batch(self.run_id, tags=batch, synchronous=True)

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(path), artifact_path)

    def log_text(self, text: str, artifact_file: str) -> None:
        self.client.log_text(self.run_id, text, artifact_file)

    def finish(self, status: str = "FINISHED") -> None:
        self.client.set_terminated(self.run_id, status)

    def metric_history(self, key: str) -> list[tuple[int, float]]:
        return [(m.step, m.value) for m in self.client.get_metric_history(self.run_id, key)]

    def log_dataset(
        self,
        name: str,
        digest: str,
        source: str | Path,
        profile: Mapping[str, Any],
        columns: Sequence[tuple[str, str]] = (),
        context: str = "train",
    ) -> None:
        """A local dataset as an input of the run (MLflow's Datasets panel); the same name and digest again is a no-op.

        `columns` are (name, MLflow type) pairs, shown as the dataset's schema.
        """
        schema = json.dumps({"mlflow_colspec": [{"type": kind, "name": col} for col, kind in columns]})
        dataset = Dataset(
            name,
            digest,
            source_type="local",
            source=json.dumps({"uri": str(source)}),
            schema=schema if columns else None,
            profile=json.dumps(dict(profile)),
        )
        self.client.log_inputs(self.run_id, [DatasetInput(dataset, [InputTag(DATASET_CONTEXT_TAG, context)])])


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


def prepare_store(experiment: str, tracking_uri: str | None = None) -> str:
    """Create the tracking store and the experiment once, from the launcher, before any worker starts.

    A new SQLite store is created by running its schema migrations; two workers (rank 0's tracker, every
    rank's system metrics) that open a store nobody created yet run them concurrently and one fails with
    "table _alembic_tmp_... already exists". Returns the experiment id.
    """
    uri = tracking_uri or default_tracking_uri()
    return get_or_create_experiment(MlflowClient(tracking_uri=uri), experiment, uri)


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
        run_id = client.create_run(
            experiment_id, tags={k: str(v) for k, v in all_tags.items()}, run_name=run_name or run_key
        ).info.run_id
    return RunTracker(client, run_id, experiment_id)


class SystemMetrics:
    """MLflow's system metrics of this machine (CPU, memory, disk, network; GPUs where nvidia-ml-py finds them)
    logged to the run with key `run_key` as `system/<node_id>/<metric>`, one step every `interval_s`.

    A thread waits for the run to exist and be RUNNING (rank 0 opens it in the background; the other ranks
    only look it up), then starts MLflow's `SystemMetricsMonitor`, whose steps continue those of a resumed
    run. It ends by `stop()` (also before the run appeared) or by itself once the run is no longer RUNNING.
    MLflow's MLFLOW_SYSTEM_METRICS_* environment variables override interval and node id.
    """

    def __init__(
        self,
        experiment: str,
        run_key: str,
        *,
        node_id: str | None = None,
        tracking_uri: str | None = None,
        interval_s: float = SYSTEM_METRICS_INTERVAL_S,
        wait_s: float = 600.0,
    ) -> None:
        self.experiment, self.run_key, self.node_id = experiment, run_key, node_id
        self.tracking_uri = tracking_uri or default_tracking_uri()
        self.interval_s, self.wait_s = interval_s, wait_s
        self.monitor: SystemMetricsMonitor | None = None
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._start_when_running, name="rlx-system-metrics", daemon=True).start()

    def _start_when_running(self) -> None:
        run_id = self._wait_for_run()
        if run_id is None:
            return
        # Its start/stop/"no GPU" INFO lines would repeat for every worker of every trial.
        logging.getLogger("mlflow.system_metrics").setLevel(logging.WARNING)
        try:
            monitor = SystemMetricsMonitor(
                run_id,
                sampling_interval=self.interval_s,
                resume_logging=True,
                node_id=self.node_id,
                tracking_uri=self.tracking_uri,
            )
        except Exception as error:  # metrics about the machine must never fail a run
            log.warning("no system metrics for MLflow run %s: %s", self.run_key, error)
            return
        with self._lock:
            if not self._stopped.is_set():
                monitor.start()
                self.monitor = monitor

    def _wait_for_run(self) -> str | None:
        deadline = time.monotonic() + self.wait_s
        while not self._stopped.is_set():
            run_id = self._running_run_id()
            if run_id is not None:
                return run_id
            if time.monotonic() > deadline:
                log.warning("no RUNNING MLflow run %s after %.0f s: no system metrics", self.run_key, self.wait_s)
                return None
            self._stopped.wait(RUN_POLL_S)
        return None

    def _running_run_id(self) -> str | None:
        try:
            run = find_run(self.experiment, self.run_key, self.tracking_uri)
            if run is not None and run.client.get_run(run.run_id).info.status == "RUNNING":
                return run.run_id
        except Exception as error:  # an unreachable store: the run's own tracker reports it
            log.debug("looking up MLflow run %s: %s", self.run_key, error)
        return None

    def stop(self) -> None:
        """Stop sampling and log what was aggregated; safe to call more than once."""
        with self._lock:
            self._stopped.set()
            monitor, self.monitor = self.monitor, None
        if monitor is not None:
            monitor.finish()


@dataclass(frozen=True)
class RunRecord:
    """A finished run as read back: ids, tags, params and final metric values."""

    run_id: str
    status: str
    tags: dict[str, str]
    params: dict[str, str]
    metrics: dict[str, float]


def child_runs(
    experiment: str, parent_run_id: str, *, tag_filter: Mapping[str, str] | None = None, tracking_uri: str | None = None
) -> list[RunRecord]:
    """The runs under one parent (the trials of a search), optionally with given tag values."""
    client = MlflowClient(tracking_uri=tracking_uri or default_tracking_uri())
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return []
    clauses = [f"tags.`{PARENT_TAG}` = '{parent_run_id}'"]
    clauses += [f"tags.`{key}` = '{value}'" for key, value in (tag_filter or {}).items()]
    return _search_all(client, exp.experiment_id, " and ".join(clauses))


def _record(run) -> RunRecord:
    return RunRecord(
        run.info.run_id, run.info.status, dict(run.data.tags), dict(run.data.params), dict(run.data.metrics)
    )


def _search_all(client: MlflowClient, experiment_id: str, filter_string: str = "") -> list[RunRecord]:
    """Every matching run: search_runs pages at max_results, and a large search has more trials than a page."""
    runs, token = [], None
    while True:
        page = client.search_runs([experiment_id], filter_string=filter_string, max_results=1000, page_token=token)
        runs += [_record(r) for r in page]
        token = page.token
        if not token:
            return runs


def download_artifact(run_id: str, artifact_path: str, dst_dir: str | Path, tracking_uri: str | None = None) -> Path:
    """A run's artifact copied into `dst_dir`; returns the local path."""
    client = MlflowClient(tracking_uri=tracking_uri or default_tracking_uri())
    return Path(client.download_artifacts(run_id, artifact_path, str(dst_dir)))


def log_artifacts(
    run_id: str, folder: str | Path, artifact_path: str | None = None, tracking_uri: str | None = None
) -> None:
    """Every file under `folder` as artifacts of a run, under `artifact_path` (the folder's layout kept)."""
    MlflowClient(tracking_uri=tracking_uri or default_tracking_uri()).log_artifacts(run_id, str(folder), artifact_path)


def set_run_tags(run_id: str, tags: Mapping[str, Any], tracking_uri: str | None = None) -> None:
    """Tags on an existing run (any status), in one request."""
    RunTracker(MlflowClient(tracking_uri=tracking_uri or default_tracking_uri()), run_id, "").set_tags(tags)


def experiment_id(experiment: str, tracking_uri: str | None = None) -> str | None:
    """The id of the experiment of that name (as in the MLflow UI's URLs), or None."""
    exp = MlflowClient(tracking_uri=tracking_uri or default_tracking_uri()).get_experiment_by_name(experiment)
    return exp.experiment_id if exp is not None else None


def run_record(run_id: str, tracking_uri: str | None = None) -> RunRecord:
    """One run as read back (status, tags, params, final metrics)."""
    return _record(MlflowClient(tracking_uri=tracking_uri or default_tracking_uri()).get_run(run_id))


# ---------------------------------------------------------------- read side (rlx.report)
class ExperimentNotFound(LookupError):
    """No MLflow experiment of that name at the tracking URI."""


def experiment_runs(experiment: str, tracking_uri: str | None = None) -> list[RunRecord]:
    """Every run of an experiment (any status, any kind), sorted by run id; ExperimentNotFound names the others."""
    uri = tracking_uri or default_tracking_uri()
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        names = sorted(e.name for e in client.search_experiments())
        raise ExperimentNotFound(
            f"MLflow experiment {experiment!r} not found at {uri} (experiments there: {', '.join(names) or 'none'})"
        )
    return sorted(_search_all(client, exp.experiment_id), key=lambda r: r.run_id)


def metric_history(run_id: str, key: str, tracking_uri: str | None = None) -> list[tuple[int, float]]:
    """(step, value) of one metric of a run, sorted by step (the last value of a repeated step wins)."""
    client = MlflowClient(tracking_uri=tracking_uri or default_tracking_uri())
    latest: dict[int, tuple[int, float]] = {}
    for m in client.get_metric_history(run_id, key):
        if m.step not in latest or m.timestamp >= latest[m.step][0]:
            latest[m.step] = (m.timestamp, m.value)
    return [(step, latest[step][1]) for step in sorted(latest)]


def list_artifacts(run_id: str, path: str = "", tracking_uri: str | None = None) -> list[str]:
    """Artifact file paths of a run under `path` (recursively), sorted."""
    client = MlflowClient(tracking_uri=tracking_uri or default_tracking_uri())
    out: list[str] = []
    for info in client.list_artifacts(run_id, path or None):
        out += list_artifacts(run_id, info.path, tracking_uri) if info.is_dir else [info.path]
    return sorted(out)
