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
  timing: rlx.tune does that once per group, not per trial.
- tune.asha_vs_grid_trial_epochs_to_best: a small MLP trained on a generated
  4-class problem (a real, deterministic trainable: the same config gives the
  same curve), a grid over lr × width run to the full budget with FIFO and
  the same grid with ASHA. Value: trial-epochs ASHA used (reports in time
  order, all trials counted) until one trial came within `tolerance` of the
  grid's best final val accuracy, over the grid's total trial-epochs.
"""
from __future__ import annotations

import dataclasses
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from rlx.bench.common import BenchResult

SMOKE_SPACE = Path(__file__).resolve().parents[2] / "tune_spaces" / "smoke.yaml"
# The smallest trial the smoke space's config allows: 4 videos/class (2 train, 1 val, 1 test after the splits).
MINIMAL_TRIAL = {
    "data.synthetic_videos_per_class": 4, "data.synthetic_frames": 8, "data.synthetic_size": 32,
    "data.input_size": 32, "data.short_side": 32, "data.num_segments": 2, "optim.epochs": 1,
    "optim.milestones": [], "optim.batch_size": 4, "eval.num_groups": 1, "eval.num_crops": 1,
}
# What that trial holds (rlx.data.synthetic.split_counts(4) × 11 classes, val carved from train):
MINIMAL_CLASSES = 11
MINIMAL_TRAIN_VIDEOS = 22
MINIMAL_EVAL_VIDEOS = 11 + 11 + 11  # val every epoch, then test and val under the test protocol
ASHA_GRID = {"lr": [0.003, 0.01, 0.03, 0.1, 0.3], "width": [4, 16, 64]}
ASHA_MAX_EPOCHS = 27  # rungs at 1, 3, 9, 27 with grace 1 and reduction factor 3
ASHA_TOLERANCE = 0.005  # val accuracy (0.5 points: 5 of the 1000 val examples)


# ---------------------------------------------------------------- pure helpers
@dataclass(frozen=True)
class Report:
    """One Tune report of one trial (one trial-epoch)."""

    trial: str
    epoch: int
    value: float
    time: float  # wall clock when reported: orders the reports of concurrent trials


def final_values(reports: Iterable[Report]) -> dict[str, float]:
    """Each trial's last reported value (its result at the epoch it reached)."""
    last: dict[str, Report] = {}
    for r in reports:
        if r.trial not in last or r.epoch > last[r.trial].epoch:
            last[r.trial] = r
    return {trial: r.value for trial, r in last.items()}


def best_trial(reports: Iterable[Report], mode: str = "max") -> tuple[str, float]:
    """The trial with the best final value (Tune's `get_best_result(scope="last")`); ties: the first trial id."""
    finals = final_values(reports)
    if not finals:
        raise ValueError("no reports")
    sign = 1 if mode == "max" else -1
    trial = min(sorted(finals), key=lambda t: -sign * finals[t])
    return trial, finals[trial]


def trial_epochs_to_reach(reports: Iterable[Report], target: float, mode: str = "max") -> int | None:
    """Trial-epochs spent, over all trials in report-time order, up to and including the first report reaching `target`.

    None if no report reaches it. Every report is one trial-epoch, whichever trial it came from.
    """
    ordered = sorted(reports, key=lambda r: (r.time, r.trial, r.epoch))
    for count, r in enumerate(ordered, start=1):
        if (r.value >= target) if mode == "max" else (r.value <= target):
            return count
    return None


def overhead_figures(bare_s: list[float], rlx_s: list[float]) -> dict[str, float]:
    """Seconds per trial of each side (mean of the Tuner walls ÷ trials) and the ratio rlx / bare."""
    if not bare_s or not rlx_s:
        raise ValueError("need at least one trial per side")
    bare = sum(bare_s) / len(bare_s)
    rlx = sum(rlx_s) / len(rlx_s)
    return {"bare_s_per_trial": bare, "rlx_s_per_trial": rlx, "ratio": rlx / bare}


# ---------------------------------------------------------------- (a) per-trial overhead
def _bare_train_fn(config: dict[str, Any]) -> None:
    """The bare worker: one report with a checkpoint; with `model_work`, also the model work of rlx's trial."""
    import ray.train

    with tempfile.TemporaryDirectory() as folder:
        if config.get("model_work"):
            _model_work(Path(folder))
        else:
            (Path(folder) / "state.txt").write_text("0")
        ray.train.report({"epoch": 1, "val/top1": 0.0}, checkpoint=ray.train.Checkpoint.from_directory(folder))


def _model_work(folder: Path) -> None:
    """What rlx's minimal trial does with PyTorch, on random tensors instead of decoded videos: the same
    network and optimizer (creating the first optimizer imports torch._dynamo, ~1 s), the same SGD steps
    and test forward passes, the weights saved. No data pipeline, evaluation protocol or tracking."""
    import torch

    from rlx.config import RunConfig
    from rlx.models import build_model

    cfg = RunConfig.from_flat({**MINIMAL_TRIAL, "data.dataset": "synthetic", "model.arch": "tsn",
                               "model.backbone": "resnetv2_small"})
    model = build_model(cfg.model, num_classes=MINIMAL_CLASSES, in_channels=3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    shape = (cfg.optim.batch_size, cfg.data.num_segments, 3, cfg.data.input_size, cfg.data.input_size)
    model.train()
    for _ in range(-(-MINIMAL_TRAIN_VIDEOS // cfg.optim.batch_size)):  # ceil: one epoch of the train videos
        loss = torch.nn.functional.cross_entropy(model(torch.randn(shape)), torch.zeros(shape[0], dtype=torch.long))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        for _ in range(-(-MINIMAL_EVAL_VIDEOS // cfg.optim.batch_size)):  # val each epoch + test + val under test
            model(torch.randn(shape))
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, folder / "state.pt")


def _bare_driver(config: dict[str, Any]) -> None:
    """The bare trial driver: one TorchTrainer (1 worker, 1 CPU — rlx's smoke resources), reported to Tune."""
    import ray.train
    from ray import tune
    from ray.train.torch import TorchTrainer
    from ray.tune.integration.ray_train import TuneReportCallback

    trainer = TorchTrainer(
        _bare_train_fn,
        train_loop_config={"model_work": config.get("model_work", False)},
        scaling_config=ray.train.ScalingConfig(num_workers=1, use_gpu=False, resources_per_worker={"CPU": 1}),
        run_config=ray.train.RunConfig(name=f"bare-{tune.get_context().get_trial_id()}",
                                       storage_path=config["storage"], callbacks=[TuneReportCallback()]),
    )
    trainer.fit()


def run_bare(trials: int, storage: str, model_work: bool = False) -> float:
    """Wall seconds of one Tuner running `trials` bare trials one at a time."""
    from ray import tune

    from rlx.tune.run import driver_resources

    tuner = tune.Tuner(
        tune.with_resources(_bare_driver, driver_resources()),
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


def minimal_space(trials: int):
    """smoke.yaml with the smallest trial config, tsn, no axes, `trials` samples of one grid point, FIFO."""
    from rlx.tune.space import Sampler, Scheduler, load_space

    space = load_space(SMOKE_SPACE, check_data=False)
    return dataclasses.replace(
        space, name="bench-tune-overhead", fixed={**space.fixed, **MINIMAL_TRIAL}, axes={},
        search={"model.arch": Sampler("grid", ("tsn",))}, num_samples=trials, scheduler=Scheduler(type="fifo"),
    )


def run_rlx(trials: int, storage: str, tracking_uri: str) -> tuple[float, float]:
    """(wall seconds of rlx's run_group over `trials` minimal trials, seconds preparing the dataset before it)."""
    from rlx.tracking import open_run
    from rlx.train.data import prepare_dataset
    from rlx.tune.run import TrialBase, run_group

    space = minimal_space(trials)
    group = space.groups()[0]
    start = time.perf_counter()
    dataset_dir = prepare_dataset(space.sample_config(group).data)
    prepare_s = time.perf_counter() - start
    parent = open_run(space.name, f"search-{space.name}-{Path(storage).name}", tracking_uri=tracking_uri,
                      tags={"rlx.kind": "search"})
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
            "rlx_config": {k: v for k, v in MINIMAL_TRIAL.items()} | {"model.arch": "tsn"},
            "cpus": _cluster_cpus(),
        },
    )


# ---------------------------------------------------------------- (b) ASHA vs grid
_PROBLEM: dict[str, Any] = {}


def make_problem(seed: int = 0, n_train: int = 2000, n_val: int = 1000, dim: int = 8, noise: float = 0.05):
    """A 4-class problem no linear model solves: class = 2·[x0·x1 > 0] + [x2² + x3² > 1.4], 5 % labels flipped."""
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n_train + n_val, dim, generator=g)
    y = 2 * (x[:, 0] * x[:, 1] > 0).long() + (x[:, 2] ** 2 + x[:, 3] ** 2 > 1.4).long()
    flip = torch.rand(len(y), generator=g) < noise
    y = torch.where(flip, torch.randint(0, 4, (len(y),), generator=g), y)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def mlp_trainable(config: dict[str, Any]) -> None:
    """A Tune function trainable: an MLP (width from the config) with SGD (lr), one val accuracy per epoch."""
    import torch
    from ray import tune

    torch.set_num_threads(1)  # deterministic and one CPU per trial
    if "data" not in _PROBLEM:  # reused actors keep it
        _PROBLEM["data"] = make_problem()
    x, y, xv, yv = _PROBLEM["data"]
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(x.shape[1], config["width"]), torch.nn.ReLU(),
                                torch.nn.Linear(config["width"], config["width"]), torch.nn.ReLU(),
                                torch.nn.Linear(config["width"], 4))
    opt = torch.optim.SGD(model.parameters(), lr=config["lr"], momentum=0.9)
    for epoch in range(1, config["epochs"] + 1):
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(epoch))
        for idx in order.split(100):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
        with torch.no_grad():
            acc = (model(xv).argmax(1) == yv).float().mean().item()
        tune.report({"epoch": epoch, "val_acc": acc, "wall": time.time()})


def run_grid(scheduler: str, storage: str) -> tuple[list[Report], dict[str, dict[str, Any]], float]:
    """(reports, config per trial, wall seconds) of the grid under FIFO or ASHA, 2 trials at a time."""
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    sched = (ASHAScheduler(time_attr="epoch", max_t=ASHA_MAX_EPOCHS, grace_period=1, reduction_factor=3)
             if scheduler == "asha" else FIFOScheduler())
    tuner = tune.Tuner(
        tune.with_resources(mlp_trainable, {"CPU": 1}),
        param_space={"lr": tune.grid_search(ASHA_GRID["lr"]), "width": tune.grid_search(ASHA_GRID["width"]),
                     "epochs": ASHA_MAX_EPOCHS},
        tune_config=tune.TuneConfig(metric="val_acc", mode="max", scheduler=sched, max_concurrent_trials=2,
                                    reuse_actors=True),
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
        reports += [Report(trial, int(e), float(v), float(w)) for e, v, w in zip(frame["epoch"], frame["val_acc"], frame["wall"])]
    return reports, configs, wall


def compare_asha_to_grid(grid: list[Report], grid_cfg: dict, asha: list[Report], asha_cfg: dict,
                         tolerance: float) -> dict[str, Any]:
    """The figures of tune.asha_vs_grid_trial_epochs_to_best from both runs' reports."""
    grid_trial, grid_best = best_trial(grid)
    asha_trial, asha_best = best_trial(asha)
    reached = trial_epochs_to_reach(asha, grid_best - tolerance)
    key = lambda cfg: tuple(sorted(cfg.items()))
    curves = {(key(grid_cfg[r.trial]), r.epoch): r.value for r in grid}
    return {
        "grid_best_val_acc": grid_best,
        "grid_best_config": grid_cfg[grid_trial],
        "asha_best_val_acc": asha_best,
        "asha_best_config": asha_cfg[asha_trial],
        "same_best_config": key(grid_cfg[grid_trial]) == key(asha_cfg[asha_trial]),
        "grid_trial_epochs": len(grid),
        "asha_trial_epochs": len(asha),
        "asha_trial_epochs_to_reach": reached,
        "grid_trial_epochs_to_reach": trial_epochs_to_reach(grid, grid_best - tolerance),
        # The trainable is deterministic: an ASHA trial's curve is a prefix of the same config's grid curve.
        "asha_curves_match_grid": all(abs(curves[(key(asha_cfg[r.trial]), r.epoch)] - r.value) < 1e-9 for r in asha),
    }


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


def _cluster_cpus() -> float:
    import ray

    return ray.cluster_resources().get("CPU", 0.0)


def run(quick: bool = False) -> list[BenchResult]:
    import ray

    with tempfile.TemporaryDirectory(prefix="rlx-bench-tune-") as tmp:
        workdir = Path(tmp)
        ray.init(address="local", dashboard_host="127.0.0.1", configure_logging=False, include_dashboard=True)
        try:
            results = [bench_asha(workdir)]
            results.insert(0, bench_overhead(1 if quick else 3, workdir))
        finally:
            ray.shutdown()
    return results
