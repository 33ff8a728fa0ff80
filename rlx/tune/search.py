"""A whole search, start to end (`python -m rlx.tune` without --dry-run).

Refuses to mix two searches (`restart_problem`), starts or joins Ray, opens
the search's MLflow parent run (space file, plan, fingerprint), runs the
groups one after another (`rlx.tune.run`), then the two-stream fusion stage
(`rlx.tune.fusion`), and ends with the best configuration of every group
and the report (`rlx.report`) logged to the parent run under `report/`. The
best trial of each group keeps its checkpoint in MLflow (`rlx.tune.best`);
the parent run carries the git commit and the space's description
(`rlx.tune.provenance`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import sys
import tempfile
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray

from rlx.report.links import server_url
from rlx.report.publish import log_report, write_report
from rlx.tracking import default_tracking_uri, find_run, open_run
from rlx.train.accounting import IncompleteTestSet, read_status, summary_lines
from rlx.train.context import default_storage
from rlx.train.prepare import DatasetNotFound, prepare_dataset
from rlx.tune.best import best_trial_of_group, keep_best_checkpoint
from rlx.tune.fusion import FusionContext, run_fusion
from rlx.tune.placement import load_cluster, place_groups
from rlx.tune.provenance import search_tags
from rlx.tune.refit import fuse_refits, run_refit
from rlx.tune.run import (
    DRIVER_CPU,
    TrialBase,
    max_concurrent_trials,
    queued_trial_waits,
    run_group,
    summarize,
    trial_cpus,
)
from rlx.tune.space import SearchSpace, SpaceError


@dataclass(frozen=True)
class SearchOptions:
    """How to run a search (the CLI's options besides the space)."""

    storage: str | None = None  # results and checkpoints: folder or pyarrow URI; None: default_storage()
    resume: bool = False  # continue an interrupted search
    address: str | None = None  # Ray cluster; None: $RAY_ADDRESS, else a local Ray
    cluster_file: str | None = None  # size concurrency by this cluster description's node types
    overrides: tuple[str, ...] = ()  # the `--set key=value` items, for the recorded command
    report_dir: str | None = None  # also keep the report's files here (else only logged to MLflow)


def run_search(space: SearchSpace, plan: str, options: SearchOptions) -> int:
    """Run every group of the space, then fusion; exit status: 0 all trials finished, 1 some failed, 2 refused."""
    storage = options.storage or default_storage()
    if "://" not in storage:
        storage = str(Path(storage).resolve())
    uri = default_tracking_uri()
    digest = space_digest(space)
    problem = restart_problem(space, options.resume, storage, uri, digest)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:  # before Ray and any trial: a missing path or an incomplete test set stops the search here
        datasets = prepare_groups(space)
    except (DatasetNotFound, IncompleteTestSet) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    concurrency = _start_ray(space, options)

    parent = open_run(
        space.name,
        f"search-{space.name}",
        run_name=f"search {space.name}",
        tracking_uri=uri,
        tags={"rlx.kind": "search", "rlx.space": space.path, "rlx.space_digest": digest},
    )
    parent.log_artifact(Path(space.path), "space")
    parent.log_text(plan, "plan.txt")
    command = shlex.join(
        ["python", "-m", "rlx.tune", "--space", space.path, *[f"--set={s}" for s in options.overrides]]
    )
    parent.set_tags({"rlx.command": command, **search_tags(space.description, Path.cwd())})
    start = time.perf_counter()
    summaries, bases = [], {}
    for group in space.groups():
        print(f"\n=== group {group.key or 'all'}: {space.trials_per_group()} trial(s) ===", flush=True)
        dataset_dir = datasets[group.key]
        base = TrialBase(
            space.name,
            group.slug,
            storage,
            uri,
            str(dataset_dir),
            parent.run_id,
            group_key=group.key,
            command=command,
            searched=tuple(space.search),
            metric=space.metric,
            mode=space.mode,
        )
        bases[group.key] = base
        results = run_group(space, group, base, options.resume, concurrency)
        summaries.append(summarize(space, group, results))
        _keep_best_checkpoint(space, group.key, parent.run_id, uri)
    fused, refits, fused_refits = [], [], []
    fusion = FusionContext(space.name, parent.run_id, uri, space.fusion_step or 0.0, command)
    if space.fusion_step:
        fused = run_fusion(space, fusion, storage)
    if space.refit:
        refits = _refit_groups(space, bases, parent.run_id, uri, options.resume)
        fused_refits = fuse_refits(space, fused, fusion) if fused else []
    seconds = time.perf_counter() - start
    summary = {"groups": summaries, "fusion": fused, "refit": refits, "fusion_refit": fused_refits}
    parent.log_text(json.dumps(summary, indent=1, default=str), "summary.json")
    parent.log_metrics({"search/seconds": seconds, "search/trials": sum(s["trials"] for s in summaries)}, step=0)
    errors = sum(s["errors"] for s in summaries) + sum(1 for f in fused if f["error"])
    errors += sum(1 for r in refits if r["error"])
    parent.finish("FINISHED" if not errors else "FAILED")
    _print_results(space, summaries, fused, seconds, uri)
    for r in refits + fused_refits:
        shown = ", ".join(f"{k}={v:.4f}" for k, v in r.items() if k.startswith("test/") and v is not None)
        print(f"  refit {r['group']}{' (two-stream)' if 'rgb_run' in r else ''}: {r.get('error') or shown}")
    publish_report(space.name, parent.run_id, uri, options.report_dir)
    return 0 if not errors else 1


def prepare_groups(space: SearchSpace) -> dict[str, Path]:
    """Every group's prepared dataset by group key; what each distinct dataset leaves out printed once."""
    prepared: dict[str, Path] = {}
    for group in space.groups():
        try:
            folder = prepare_dataset(space.sample_config(group).data)
        except (DatasetNotFound, IncompleteTestSet) as err:
            raise type(err)(f"group {group.key or 'all'}: {err}") from err
        if folder not in prepared.values():
            print(f"data of group {group.key or 'all'} ({folder.name}):", flush=True)
            for line in summary_lines(read_status(folder), folder):
                print(f"  {line}", flush=True)
        prepared[group.key] = folder
    return prepared


def _refit_groups(
    space: SearchSpace, bases: dict[str, TrialBase], parent_run_id: str, uri: str, resume: bool
) -> list[dict[str, Any]]:
    """Stage 2 of `refit: true` (rlx.tune.refit): every group's selected trial trained on the whole split."""
    out = []
    for group in space.groups():
        trial = best_trial_of_group(space.name, parent_run_id, group.key, space.metric, space.mode, uri)
        if trial is None:
            print(f"refit {group.key or 'all'}: skipped, no finished trial to refit", flush=True)
            out.append({"group": group.key or "all", "refit_of": None, "error": "no finished trial"})
            continue
        print(f"\n=== refit {group.key or 'all'}: trial {trial.run_id} on the whole training split ===", flush=True)
        out.append(run_refit(space, group, trial, bases[group.key], resume))
    return out


def _keep_best_checkpoint(space: SearchSpace, group_key: str, parent_run_id: str, uri: str) -> None:
    """The group's best trial keeps its checkpoint in MLflow (rlx.tune.best); a failure is a warning, not a loss."""
    try:
        kept = keep_best_checkpoint(space.name, parent_run_id, group_key, space.metric, space.mode, uri)
    except Exception as err:  # the search's results are in MLflow already: never lose them over this step
        print(f"warning: best checkpoint of group {group_key or 'all'} not kept in MLflow: {err!r}", flush=True)
        return
    if kept is not None:
        where = f"logged as artifacts {kept.artifact}/" if kept.artifact else f"not logged ({kept.reason}), tagged"
        print(
            f"best trial of group {group_key or 'all'}: run {kept.run_id}, checkpoint {kept.path} {where}", flush=True
        )


def publish_report(experiment: str, parent_run_id: str, uri: str, keep_in: str | None = None) -> bool:
    """The experiment's report (rlx.report) logged to the search's parent run under `report/`; False on failure.

    `keep_in`: the folder that also keeps the report's files (`--report-dir`), else a temporary one.
    A failure (no finished trial, a bug in a table) prints one warning line and leaves the search's results
    and exit status as they are: `python -m rlx.report --experiment NAME --log` retries it.
    """
    try:
        kept = nullcontext(keep_in) if keep_in else tempfile.TemporaryDirectory(prefix="rlx-tune-report-")
        with kept as folder_name:
            out = Path(folder_name)
            written = write_report(experiment, uri, out, server_url(uri))
            folder = log_report(parent_run_id, out, uri)
    except Exception as err:  # any failure of the report must not fail the search
        print(
            f"warning: report of {experiment} not logged to MLflow ({err!r}); "
            f"retry: python -m rlx.report --experiment {experiment} --log",
            flush=True,
        )
        return False
    print(
        f"report ({written.tables} tables, {written.plots} plots) logged to the search run {parent_run_id}: "
        f"artifacts {folder}/index.html" + (f"; files in {keep_in}" if keep_in else ""),
        flush=True,
    )
    return True


def _start_ray(space: SearchSpace, options: SearchOptions) -> int:
    """Start (or join) Ray; the number of trials Tune starts at once (those that run, and one queued)."""
    address = options.address or os.environ.get("RAY_ADDRESS") or "local"
    if not ray.is_initialized():
        if address == "local":
            ray.init(address=address, dashboard_host="127.0.0.1", configure_logging=False)
        else:
            ray.init(address=address, configure_logging=False)
    cluster = ray.cluster_resources()
    need = trial_cpus(space, cluster)
    if address == "local" and need > cluster.get("CPU", 0):  # no autoscaler: the trial would wait forever
        raise SpaceError(
            space.path,
            "resources",
            f"a trial needs {need:g} CPUs (workers_per_trial × (cpus_per_worker + data.loader_tasks × "
            f"data.loader_cpus), and {DRIVER_CPU:g} for its driver) but this machine's Ray has "
            f"{cluster.get('CPU', 0):g}",
        )
    concurrency = max_concurrent_trials(space, cluster)
    # One more trial starting up while the others train: only on a fixed cluster (see queued_trial_waits).
    queued = address == "local" and not options.cluster_file and queued_trial_waits(space, cluster)
    print(
        f"cluster: {cluster.get('CPU', 0):g} CPUs, {cluster.get('GPU', 0):g} GPUs "
        f"-> up to {concurrency} trial(s) at once" + (", the next one starting up meanwhile" if queued else ""),
        flush=True,
    )
    if options.cluster_file:
        # An autoscaling cluster starts as its head alone (0 GPUs): size concurrency by the node types the
        # autoscaler may start instead, as the cluster file describes them.
        placements = place_groups(space, load_cluster(options.cluster_file))
        concurrency = max(concurrency, min(p.max_concurrent_trials for p in placements.values()))
        print(
            f"cluster file {options.cluster_file}: up to {concurrency} trial(s) at once once the autoscaler has "
            "started its nodes",
            flush=True,
        )
    return concurrency + int(queued)


def _print_results(
    space: SearchSpace, summaries: list[dict[str, Any]], fused: list[dict[str, Any]], seconds: float, uri: str
) -> None:
    print(f"\nsearch {space.name} finished in {seconds / 60:.1f} min; best per group ({space.metric}, {space.mode}):")
    for s in summaries:
        value = s[space.metric]
        print(
            f"  {s['group']}: {space.metric}={value:.4f} with {s['best']}"
            if value is not None
            else f"  {s['group']}: no result"
        )
    for f in fused:
        metric = next((k for k in ("test/top1", "test/mAP") if f.get(k) is not None), None)
        print(
            f"  two-stream {f['group']}: RGB weight {f.get('fusion/weight_rgb')} (chosen on validation) -> "
            f"{metric}={f.get(metric) if metric else 'n/a'}; "
            f"test-optimal weight {f.get('fusion/test_optimal_weight_rgb')} "
            f"({f['pairing']})"
            if not f["error"]
            else f"  two-stream {f['group']}: failed: {f['error']}"
        )
    print(f"MLflow experiment {space.name} at {uri}; view with: mlflow ui --backend-store-uri {uri} --host 127.0.0.1")


def space_digest(space: SearchSpace) -> str:
    """A fingerprint of what a search trains (fixed keys after --set, axes, samplers, scheduler, resources)."""
    what = {
        "fixed": space.fixed,
        "axes": space.axes,
        "search": {k: (s.kind, s.values) for k, s in space.search.items()},
        "num_samples": space.num_samples,
        "scheduler": space.scheduler,
        "metric": space.metric,
        "mode": space.mode,
        "resources": space.resources,
        "fusion": space.fusion_step,
        **({"refit": True} if space.refit else {}),  # absent when off: older searches keep their fingerprint
    }
    return hashlib.sha1(json.dumps(what, sort_keys=True, default=repr).encode()).hexdigest()[:16]


def restart_problem(space: SearchSpace, resume: bool, storage: str, tracking_uri: str, digest: str) -> str | None:
    """Why this search must not start (an earlier one of the same name would be mixed in), or None.

    A search is its MLflow parent run `search-<name>` plus one Tune folder per group. Without --resume
    both must be new: a second run would add its trials to the first one's tables. With --resume the
    space must be the one that was interrupted: resuming finished trials of another config is a lie.
    """
    previous = find_run(space.name, f"search-{space.name}", tracking_uri)
    folders = (
        []
        if "://" in storage
        else [p for p in (Path(storage) / f"{space.name}-{g.slug}" for g in space.groups()) if p.exists()]
    )
    if not resume and (previous is not None or folders):
        where = f"MLflow experiment {space.name!r} at {tracking_uri}" if previous is not None else str(folders[0])
        return (
            f"search {space.name!r} already has results ({where}): pass --resume to continue it, or give the "
            "space another `name:` (or --storage and MLFLOW_TRACKING_URI elsewhere) to start a new one"
        )
    if resume and previous is not None:
        recorded = previous.client.get_run(previous.run_id).data.tags.get("rlx.space_digest")
        if recorded and recorded != digest:
            return (
                f"{space.path}: the space (or its --set overrides) changed since search {space.name!r} ran "
                f"(fingerprint {recorded} -> {digest}): --resume would mix two searches; give the space another "
                "`name:` to start a new one"
            )
    return None
