"""`python -m rlx.bench tune`: what the search layer costs and what ASHA saves.

- tune.rlx_trial_overhead_vs_bare: wall seconds per trial of rlx's search
  path over a bare Ray Tune + Ray Train trial, both measured in this run on
  one `ray.init`, the same number of trials, one trial at a time.
  * bare: a Tuner (FIFO) over a driver function (0.01 CPU, like rlx's) that
    builds a TorchTrainer with 1 worker (1 CPU) whose train function does the
    trial's PyTorch work on random tensors — the same network and optimizer,
    the same number of SGD steps and evaluation forward passes, the weights
    saved in the checkpoint — and calls `ray.train.report` once; the driver
    passes the report to Tune with `TuneReportCallback`. So the ratio prices
    rlx's machinery (Ray Data decoding, the evaluation protocol, MLflow,
    score tables, progress logs), not PyTorch. The same rlx trials against a
    bare trial that does nothing at all are in the details (creating the
    first optimizer alone imports torch._dynamo, ~1 s).
  * rlx: `rlx.tune.run.run_group` on `tune_spaces/smoke.yaml` shrunk as far
    as the config allows without changing rlx — the real trial driver →
    `rlx.train.driver.run_training` → worker: open the prepared dataset,
    build the model (tsn, small backbone), one epoch on 22 tiny synthetic
    videos (32 px, T=2) through Ray Data, validation, a checkpoint, the
    report, the 1-group × 1-crop test and the MLflow child run (params,
    metrics, scores, confusion matrix, config).
  The dataset is prepared (and the synthetic videos rendered) before the
  timing: rlx.tune does that once per group, not per trial. What runs
  inside Ray (the bare trial, the MLP trainable) is in `tune_trials`, the
  pure figures in `tune_figures`.
- tune.asha_vs_grid_trial_epochs_to_best: a small MLP trained on a generated
  4-class problem (a real, deterministic trainable: the same config gives the
  same curve), a grid over lr × width run to the full budget with FIFO and
  the same grid with ASHA. Value: trial-epochs ASHA used (reports in time
  order, all trials counted) until one trial came within `tolerance` of the
  grid's best final val accuracy, over the grid's total trial-epochs.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any

import ray
from ray import tune
from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

from rlx.bench.common import BenchResult
from rlx.bench.tune_figures import Report, compare_asha_to_grid, overhead_figures
from rlx.bench.tune_trials import MINIMAL_TRIAL, bare_driver, mlp_trainable
from rlx.tracking import open_run
from rlx.train.prepare import prepare_dataset
from rlx.tune.run import TrialBase, driver_resources, run_group
from rlx.tune.space import Sampler, Scheduler, SearchSpace, load_space

SMOKE_SPACE = Path(__file__).resolve().parents[2] / "tune_spaces" / "smoke.yaml"
ASHA_GRID = {"lr": [0.003, 0.01, 0.03, 0.1, 0.3], "width": [4, 16, 64]}
ASHA_MAX_EPOCHS = 27  # rungs at 1, 3, 9, 27 with grace 1 and reduction factor 3
ASHA_TOLERANCE = 0.005  # val accuracy (0.5 points: 5 of the 1000 val examples)


# ---------------------------------------------------------------- (a) per-trial overhead
def run_bare(trials: int, storage: str, model_work: bool = False) -> float:
    """Wall seconds of one Tuner running `trials` bare trials one at a time."""
    tuner = tune.Tuner(
        tune.with_resources(bare_driver, driver_resources()),
        param_space={"i": tune.grid_search(list(range(trials))), "storage": storage, "model_work": model_work},
        tune_config=tune.TuneConfig(metric="val/top1", mode="max", max_concurrent_trials=1),
        run_config=tune.RunConfig(name="bare", storage_path=storage, verbose=0),
    )
    start = time.perf_counter()
    results = tuner.fit()
    wall = time.perf_counter() - start
    if results.errors or len(results) != trials:
        raise RuntimeError(f"bare trials failed: {results.errors}")
    return wall


def minimal_space(trials: int) -> SearchSpace:
    """smoke.yaml with the smallest trial config, tsn, no axes, `trials` samples of one grid point, FIFO."""
    space = load_space(SMOKE_SPACE, check_data=False)
    return dataclasses.replace(
        space,
        name="bench-tune-overhead",
        fixed={**space.fixed, **MINIMAL_TRIAL},
        axes={},
        search={"model.arch": Sampler("grid", ("tsn",))},
        num_samples=trials,
        scheduler=Scheduler(type="fifo"),
    )


def run_rlx(trials: int, storage: str, tracking_uri: str) -> tuple[float, float]:
    """(wall seconds of rlx's run_group over `trials` minimal trials, seconds preparing the dataset before it)."""
    space = minimal_space(trials)
    group = space.groups()[0]
    start = time.perf_counter()
    dataset_dir = prepare_dataset(space.sample_config(group).data)
    prepare_s = time.perf_counter() - start
    parent = open_run(
        space.name, f"search-{space.name}-{Path(storage).name}", tracking_uri=tracking_uri, tags={"rlx.kind": "search"}
    )
    base = TrialBase(space.name, group.slug, storage, tracking_uri, str(dataset_dir), parent.run_id)
    start = time.perf_counter()
    results = run_group(space, group, base, resume=False, concurrency=1)
    wall = time.perf_counter() - start
    parent.finish()
    if results.errors or len(results) != trials:
        raise RuntimeError(f"rlx trials failed: {results.errors}")
    return wall, prepare_s


def bench_overhead(trials: int, workdir: Path) -> BenchResult:
    uri = f"sqlite:///{workdir / 'mlruns.db'}"
    run_bare(1, str(workdir / "warmup"))  # first Tuner of the session pays imports and the dashboard: not counted
    noop_wall = run_bare(trials, str(workdir / "bare-noop"))
    bare_wall = run_bare(trials, str(workdir / "bare"), model_work=True)
    rlx_wall, prepare_s = run_rlx(trials, str(workdir / "rlx"), uri)
    fig = overhead_figures([bare_wall / trials], [rlx_wall / trials])
    noop = overhead_figures([noop_wall / trials], [rlx_wall / trials])
    return BenchResult(
        name="tune.rlx_trial_overhead_vs_bare",
        value=round(fig["ratio"], 3),
        unit="x",
        baseline="bare Ray Tune + Train trial: Tuner -> driver fn (0.01 CPU) -> TorchTrainer (1 worker, 1 CPU) "
        "whose train fn does the trial's model work on random tensors (same network and optimizer, "
        "6 SGD steps, 9 eval forward passes, weights saved) and calls ray.train.report once",
        candidate="rlx trial: rlx.tune.run.run_group -> trial_driver -> run_training -> worker: open prepared data, "
        "tsn resnetv2_small, 1 epoch on 22 synthetic videos 32px T=2 via Ray Data, val, checkpoint, "
        "report, 1-view test, MLflow child run",
        details={
            "goal": "<= 1.25",
            "trials_per_side": trials,
            "bare_s_per_trial": round(fig["bare_s_per_trial"], 1),
            "rlx_s_per_trial": round(fig["rlx_s_per_trial"], 1),
            "rlx_extra_s_per_trial": round(fig["rlx_s_per_trial"] - fig["bare_s_per_trial"], 1),
            # the same rlx trials against a bare trial that does nothing at all (not even import an optimizer)
            "bare_noop_s_per_trial": round(noop["bare_s_per_trial"], 1),
            "ratio_vs_bare_noop": round(noop["ratio"], 3),
            "rlx_prepare_dataset_s_once": round(prepare_s, 1),
            "order": "warm-up bare Tuner (1 trial, not counted), bare no-op Tuner, bare Tuner, rlx Tuner; one "
            "ray.init; 1 trial at a time",
            "rlx_config": dict(MINIMAL_TRIAL) | {"model.arch": "tsn"},
            "cpus": cluster_cpus(),
        },
    )


# ---------------------------------------------------------------- (b) ASHA vs grid
def run_grid(scheduler: str, storage: str) -> tuple[list[Report], dict[str, dict[str, Any]], float]:
    """(reports, config per trial, wall seconds) of the grid under FIFO or ASHA, 2 trials at a time."""
    sched = (
        ASHAScheduler(time_attr="epoch", max_t=ASHA_MAX_EPOCHS, grace_period=1, reduction_factor=3)
        if scheduler == "asha"
        else FIFOScheduler()
    )
    tuner = tune.Tuner(
        tune.with_resources(mlp_trainable, {"CPU": 1}),
        param_space={
            "lr": tune.grid_search(ASHA_GRID["lr"]),
            "width": tune.grid_search(ASHA_GRID["width"]),
            "epochs": ASHA_MAX_EPOCHS,
        },
        tune_config=tune.TuneConfig(
            metric="val_acc", mode="max", scheduler=sched, max_concurrent_trials=2, reuse_actors=True
        ),
        run_config=tune.RunConfig(name=scheduler, storage_path=storage, verbose=0),
    )
    start = time.perf_counter()
    results = tuner.fit()
    wall = time.perf_counter() - start
    if results.errors:
        raise RuntimeError(f"{scheduler} trials failed: {results.errors}")
    reports, configs = [], {}
    for result in results:
        trial = result.path.rstrip("/").split("/")[-1]
        configs[trial] = {"lr": result.config["lr"], "width": result.config["width"]}
        frame = result.metrics_dataframe
        reports += [
            Report(trial, int(e), float(v), float(w))
            for e, v, w in zip(frame["epoch"], frame["val_acc"], frame["wall"], strict=True)
        ]
    return reports, configs, wall


def bench_asha(workdir: Path) -> BenchResult:
    grid, grid_cfg, grid_wall = run_grid("fifo", str(workdir / "asha-bench"))
    asha, asha_cfg, asha_wall = run_grid("asha", str(workdir / "asha-bench"))
    fig = compare_asha_to_grid(grid, grid_cfg, asha, asha_cfg, ASHA_TOLERANCE)
    reached = fig["asha_trial_epochs_to_reach"]
    spent = reached if reached is not None else fig["asha_trial_epochs"]
    return BenchResult(
        name="tune.asha_vs_grid_trial_epochs_to_best",
        value=round(spent / fig["grid_trial_epochs"], 3),
        unit="x",
        baseline=f"grid of {len(grid_cfg)} configs x {ASHA_MAX_EPOCHS} epochs, FIFO: total trial-epochs",
        candidate=f"same grid, ASHA (grace 1, reduction 3, max_t {ASHA_MAX_EPOCHS}): trial-epochs (time order, all "
        f"trials) until a val accuracy within {ASHA_TOLERANCE} of the grid's best final one",
        details={
            **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in fig.items()},
            "reached": reached is not None,
            "tolerance": ASHA_TOLERANCE,
            "grid": ASHA_GRID,
            "trainable": "MLP 8-w-w-4, SGD momentum 0.9, batch 100, 2000 train / 1000 val, 4-class generated problem",
            "concurrency": 2,
            "grid_wall_s": round(grid_wall, 1),
            "asha_wall_s": round(asha_wall, 1),
        },
    )


def cluster_cpus() -> float:
    return ray.cluster_resources().get("CPU", 0.0)


def run(quick: bool = False) -> list[BenchResult]:
    with tempfile.TemporaryDirectory(prefix="rlx-bench-tune-") as tmp:
        workdir = Path(tmp)
        ray.init(address="local", dashboard_host="127.0.0.1", configure_logging=False, include_dashboard=True)
        try:
            results = [bench_asha(workdir)]
            results.insert(0, bench_overhead(1 if quick else 3, workdir))
        finally:
            ray.shutdown()
    return results
