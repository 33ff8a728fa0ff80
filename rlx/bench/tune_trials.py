"""What runs inside Ray for `python -m rlx.bench tune`: the bare trial and the ASHA benchmark's MLP trainable.

Ray workers import this module to run these functions, and the bare trial is
the baseline whose seconds are measured: so the module imports at its top
only what those workers have imported anyway (torch, ray.train), never rlx's
search machinery. `ray.tune` (~1.2 s, absent from a Ray Train worker) is
imported inside the two functions that run in Tune trial actors, where it is
already loaded.
"""

from __future__ import annotations

import functools
import tempfile
import time
from pathlib import Path
from typing import Any

import ray.train
import torch
from ray.train.torch import TorchTrainer

from rlx.config import RunConfig
from rlx.models import build_model

# The smallest trial the smoke space's config allows: 4 videos/class (2 train, 1 val, 1 test after the splits).
MINIMAL_TRIAL = {
    "data.synthetic_videos_per_class": 4,
    "data.synthetic_frames": 8,
    "data.synthetic_size": 32,
    "data.input_size": 32,
    "data.short_side": 32,
    "data.num_segments": 2,
    "optim.epochs": 1,
    "optim.milestones": [],
    "optim.batch_size": 4,
    "eval.num_groups": 1,
    "eval.num_crops": 1,
}
# What that trial holds (rlx.data.synthetic.split_counts(4) × 11 classes, val carved from train):
MINIMAL_CLASSES = 11
MINIMAL_TRAIN_VIDEOS = 22
MINIMAL_EVAL_VIDEOS = 11 + 11 + 11  # val every epoch, then test and val under the test protocol


# ---------------------------------------------------------------- the bare trial (per-trial overhead baseline)
def bare_train_fn(config: dict[str, Any]) -> None:
    """The bare worker: one report with a checkpoint; with `model_work`, also the model work of rlx's trial."""
    with tempfile.TemporaryDirectory() as folder:
        if config.get("model_work"):
            model_work(Path(folder))
        else:
            (Path(folder) / "state.txt").write_text("0")
        ray.train.report({"epoch": 1, "val/top1": 0.0}, checkpoint=ray.train.Checkpoint.from_directory(folder))


def model_work(folder: Path) -> None:
    """What rlx's minimal trial does with PyTorch, on random tensors instead of decoded videos: the same
    network and optimizer (creating the first optimizer imports torch._dynamo, ~1 s), the same SGD steps
    and test forward passes, the weights saved. No data pipeline, evaluation protocol or tracking."""
    cfg = RunConfig.from_flat(
        {**MINIMAL_TRIAL, "data.dataset": "synthetic", "model.arch": "tsn", "model.backbone": "resnetv2_small"}
    )
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


def bare_driver(config: dict[str, Any]) -> None:
    """The bare trial driver: one TorchTrainer (1 worker, 1 CPU — rlx's smoke resources), reported to Tune."""
    # In a Tune trial actor ray.tune is loaded already; at the top they would cost every train worker ~1.2 s.
    from ray import tune  # noqa: PLC0415
    from ray.tune.integration.ray_train import TuneReportCallback  # noqa: PLC0415

    trainer = TorchTrainer(
        bare_train_fn,
        train_loop_config={"model_work": config.get("model_work", False)},
        scaling_config=ray.train.ScalingConfig(num_workers=1, use_gpu=False, resources_per_worker={"CPU": 1}),
        run_config=ray.train.RunConfig(
            name=f"bare-{tune.get_context().get_trial_id()}",
            storage_path=config["storage"],
            callbacks=[TuneReportCallback()],
        ),
    )
    trainer.fit()


# ---------------------------------------------------------------- the ASHA benchmark's trainable
def make_problem(seed: int = 0, n_train: int = 2000, n_val: int = 1000, dim: int = 8, noise: float = 0.05):
    """A 4-class problem no linear model solves: class = 2·[x0·x1 > 0] + [x2² + x3² > 1.4], 5 % labels flipped."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n_train + n_val, dim, generator=g)
    y = 2 * (x[:, 0] * x[:, 1] > 0).long() + (x[:, 2] ** 2 + x[:, 3] ** 2 > 1.4).long()
    flip = torch.rand(len(y), generator=g) < noise
    y = torch.where(flip, torch.randint(0, 4, (len(y),), generator=g), y)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


@functools.cache
def default_problem():
    """`make_problem()`, generated once per process: reused Tune actors keep it between trials."""
    return make_problem()


def mlp_trainable(config: dict[str, Any]) -> None:
    """A Tune function trainable: an MLP (width from the config) with SGD (lr), one val accuracy per epoch."""
    # In a Tune trial actor ray.tune is loaded already; at the top it would cost every train worker ~1.2 s.
    from ray import tune  # noqa: PLC0415

    torch.set_num_threads(1)  # deterministic and one CPU per trial
    x, y, xv, yv = default_problem()
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(x.shape[1], config["width"]),
        torch.nn.ReLU(),
        torch.nn.Linear(config["width"], config["width"]),
        torch.nn.ReLU(),
        torch.nn.Linear(config["width"], 4),
    )
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
