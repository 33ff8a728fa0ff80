"""One group of a search: a Ray Tune `Tuner` over per-trial drivers.

Three layers (RAY_NOTES.md, Ray's train/tune interop pattern):
    Tuner (one per group of the axes)
      └─ trial driver (`trial_driver`, a Tune function trainable, ~0 CPU)
           └─ TorchTrainer of one training run (`rlx.train.driver`), its workers
Each trial's Ray Train run and MLflow child run are named from the Tune trial
id, so `--resume` (Tuner.restore) continues the same trials, checkpoints and
MLflow runs instead of starting new ones. The whole search (groups one after
another, its MLflow parent run, the fusion stage) is `rlx.tune.search`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
from ray import tune
from ray.tune.integration.ray_train import TuneReportCallback
from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

from rlx.config import RunConfig, init_from_group
from rlx.train.context import RunContext
from rlx.train.driver import run_training
from rlx.train.init_source import resolve_init_from
from rlx.train.prepare import prepare_dataset
from rlx.tune.init_group import source_trial
from rlx.tune.space import Group, Sampler, SearchSpace, referenced_group

log = logging.getLogger(__name__)
DRIVER_RESOURCE = "train_driver"  # a custom resource the cluster YAMLs give the head node (clusters/)
DRIVER_CPU = 0.01  # a trial driver's CPU on a Ray without DRIVER_RESOURCE (see driver_resources)
WORKER_START_TIMEOUT_ENV = "RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S"  # read by the Train controller
QUEUED_TRIAL_WAIT_S = 3600.0


def driver_resources() -> dict[str, float]:
    """What one trial driver reserves: it only waits on its trainer, the workers hold the real CPUs.

    On the shipped clusters the head has `{"CPU": 0, "train_driver": N}` so that drivers (and nothing
    else) land on it; a local Ray has no such resource, and a sliver of a CPU leaves the CPUs to the
    workers (RAY_NOTES.md: `{"CPU": 0}` is refused).
    """
    if ray.is_initialized() and ray.cluster_resources().get(DRIVER_RESOURCE):
        return {DRIVER_RESOURCE: 0.01}
    return {"CPU": DRIVER_CPU}


@dataclass(frozen=True)
class TrialBase:
    """What every trial of a group shares (passed to the driver with tune.with_parameters)."""

    space_name: str
    group_slug: str
    storage: str
    tracking_uri: str
    dataset_dir: str
    parent_run_id: str
    group_key: str = ""
    command: str = ""
    # what model.init_from: group:<key> needs to find a trial's source (rlx.tune.init_group)
    searched: tuple[str, ...] = ()
    metric: str = "val/top1"
    mode: str = "max"
    kind: str = "trial"  # "refit": the second stage of rlx.tune.refit
    tags: dict[str, str] = dataclasses.field(default_factory=dict)  # more MLflow tags of the trial's run


def trial_driver(config: dict[str, Any], base: TrialBase) -> None:
    """The Tune trainable: one TorchTrainer run for this trial's config."""
    cfg = RunConfig.from_flat(config)
    reference = init_from_group(cfg.model.init_from)
    tags = dict(base.tags)
    if reference is None:
        cfg = resolve_init_from(cfg, base.tracking_uri)  # a run id -> its checkpoint
    else:  # the trial of an earlier group with the same searched values (or its best), see rlx.tune.init_group
        source_group = referenced_group(base.group_key, reference)
        source = source_trial(
            base.space_name,
            base.parent_run_id,
            source_group,
            config,
            base.searched,
            base.metric,
            base.mode,
            base.tracking_uri,
            kind=base.kind,
        )
        cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, init_from=source.checkpoint))
        tags["rlx.init_from_trial"] = source.note(source_group)
    # A queued trial (`queued_trial_waits`) waits for its workers as long as a running trial lasts. Ray Train's
    # default wait is 60 s, then it drops the placement group and asks again (a WorkerGroupStartupTimeoutError
    # each time): an hour instead, for every trial (on a cluster, one waiting for new nodes also asks again
    # only hourly; the wait itself is the same). A value the user set stays.
    os.environ.setdefault(WORKER_START_TIMEOUT_ENV, str(QUEUED_TRIAL_WAIT_S))
    trial_id = tune.get_context().get_trial_id()
    ctx = RunContext(
        name=f"{base.space_name}-{base.group_slug}-{trial_id}",
        storage=base.storage,
        tracking_uri=base.tracking_uri,
        experiment=base.space_name,
        # Prepared once per group by the launcher; a searched data key may need its own folder (cached).
        dataset_dir=str(prepare_dataset(cfg.data)) if _data_searched(config, base) else base.dataset_dir,
        parent_run_id=base.parent_run_id,
        group=base.group_key,
        command=base.command,
        kind=base.kind,
        tags=tags,
    )
    run_training(cfg, ctx, callbacks=[TuneReportCallback()])


def _data_searched(config: dict[str, Any], base: TrialBase) -> bool:
    source = json.loads((Path(base.dataset_dir) / "source.json").read_text())
    return any(config.get(f"data.{k}", v) != v for k, v in (("dataset", source["dataset"]), ("split", source["split"])))


def trial_cpus(space: SearchSpace, cluster: dict[str, float]) -> float:
    """CPUs one trial holds: its workers' and their decode tasks', and its driver's sliver where it takes CPU."""
    r = space.resources
    cfg = space.sample_config(space.groups()[0])
    # Every worker runs its own data.loader_tasks decode tasks (one dataset each) beside its training CPUs.
    workers = r.workers_per_trial * (r.cpus_per_worker + cfg.data.loader_tasks * cfg.data.loader_cpus)
    return workers + (0.0 if cluster.get(DRIVER_RESOURCE) else DRIVER_CPU)


def max_concurrent_trials(space: SearchSpace, cluster: dict[str, float]) -> int:
    """Trials that fit at once: Tune cannot see the trainers' placement groups (RAY_NOTES.md)."""
    r = space.resources
    fits = [math.floor(cluster.get("CPU", 1) / trial_cpus(space, cluster))]
    if r.gpus_per_worker:
        fits.append(math.floor(cluster.get("GPU", 0) / (r.workers_per_trial * r.gpus_per_worker)))
    return max(1, min(fits))


def queued_trial_waits(space: SearchSpace, cluster: dict[str, float]) -> bool:
    """Whether one more trial's workers can never start beside `max_concurrent_trials` running ones on `cluster`.

    Then `_start_ray` lets Tune start that trial too on a fixed cluster (a Ray rlx started on this machine):
    its driver and Train controller, two processes that import PyTorch and Ray Train (~10 s on 2 cores, the
    time between trials), start while the running trials train, and its worker group's placement group waits
    until one of them ends. Not when the workers would fit: they would take the CPUs the running trials'
    decode tasks count on (those are in `trial_cpus`, but no placement group reserves them).
    """
    r = space.resources
    cpus, gpus = r.workers_per_trial * r.cpus_per_worker, r.workers_per_trial * r.gpus_per_worker  # one trial's
    running = max_concurrent_trials(space, cluster)
    drivers = 0.0 if cluster.get(DRIVER_RESOURCE) else (running + 1) * DRIVER_CPU
    return cluster.get("CPU", 0) - running * cpus - drivers < cpus or cluster.get("GPU", 0) - running * gpus < gpus


def tune_domain(sampler: Sampler) -> Any:
    """The Tune search domain of a sampler of the space."""
    if sampler.kind == "grid":
        return tune.grid_search(list(sampler.values))
    if sampler.kind == "choice":
        return tune.choice(list(sampler.values))
    if sampler.kind == "uniform":
        return tune.uniform(*sampler.values)
    if sampler.kind == "loguniform":
        return tune.loguniform(*sampler.values)
    return tune.randint(sampler.values[0], sampler.values[1] + 1)  # Tune's upper bound is exclusive


def param_space(space: SearchSpace, group: Group) -> dict[str, Any]:
    """Tune's param_space for one group: the group's fixed flat keys plus the samplers."""
    return {**group.flat, **{k: tune_domain(s) for k, s in space.search.items()}}


def _scheduler(space: SearchSpace, epochs: int):
    if space.scheduler.type == "asha":
        # time_attr=epoch: training_iteration restarts after a restore (RAY_NOTES.md).
        return ASHAScheduler(
            time_attr="epoch",
            max_t=epochs,
            grace_period=min(space.scheduler.grace_period, epochs),
            reduction_factor=space.scheduler.reduction_factor,
        )
    return FIFOScheduler()


def run_group(space: SearchSpace, group: Group, base: TrialBase, resume: bool, concurrency: int):
    """Run (or with `resume`, continue) the Tuner of one group; returns Tune's ResultGrid."""
    epochs = space.sample_config(group).optim.epochs
    trainable = tune.with_resources(tune.with_parameters(trial_driver, base=base), driver_resources())
    path = f"{base.storage.rstrip('/')}/{space.name}-{group.slug}"
    if resume and tune.Tuner.can_restore(path):
        log.info("resuming group %s from %s", group.key or "all", path)
        tuner = tune.Tuner.restore(
            path, trainable, resume_unfinished=True, resume_errored=True, param_space=param_space(space, group)
        )
    else:
        tuner = tune.Tuner(
            trainable,
            param_space=param_space(space, group),
            tune_config=tune.TuneConfig(
                metric=space.metric,
                mode=space.mode,
                scheduler=_scheduler(space, epochs),
                num_samples=space.num_samples,
                max_concurrent_trials=concurrency,
            ),
            run_config=tune.RunConfig(name=f"{space.name}-{group.slug}", storage_path=base.storage),
        )
    return tuner.fit()


def summarize(space: SearchSpace, group: Group, results) -> dict[str, Any]:
    """Best trial of a group: its config (searched keys), metric and trial count.

    Chosen as `rlx.tune.best` chooses the checkpoint it keeps: by the final value, a tie to the earlier trial (Tune's
    trial ids end in the trial's index). Tune's own `get_best_result` gives a tie to whichever trial its list
    holds first, which is not the same order once trials ran at once or the search was resumed.
    """
    sign = -1.0 if space.mode == "max" else 1.0
    scored = [r for r in results if math.isfinite((r.metrics or {}).get(space.metric, math.nan))]
    if scored:
        best = min(scored, key=lambda r: (sign * r.metrics[space.metric], r.metrics.get("trial_id", "")))
    else:  # no trial reported the metric: Tune's error says so
        best = results.get_best_result(metric=space.metric, mode=space.mode, scope="last")
    searched = {k: best.config.get(k) for k in space.search}
    return {
        "group": group.key or "all",
        "trials": len(results),
        "errors": len(results.errors),
        "best": searched,
        space.metric: (best.metrics or {}).get(space.metric),
    }
