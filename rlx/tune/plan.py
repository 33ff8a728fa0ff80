"""The plan of a search (`rlx.tune --dry-run`): groups, trials, trial-epochs, GPU-hours.

GPU-hours are an *estimate* from a cost table, not a measurement: seconds of
one A100-class GPU per training video-epoch, derived from the forward FLOPs
that `python -m rlx.bench model` counts (ResNet-101-v2 two-branch, 224²,
T = 8: 159 GFLOPs; TSN: 125 GFLOPs), ×3 for forward + backward, at an
assumed 35 % of the A100's 312 bf16 TFLOPS; ResNet-50-v2 is scaled by its
FLOPs (×0.53). The temporal stream costs the same in the network (only
conv1 grows) but reads 10× the frames: ×1.3 for its data path. Testing adds
20 views of each test video once per trial (forward only). Replace the table
with measured figures (`python -m rlx.bench train` on the cluster's GPU) when
you have them; the plan says which numbers it used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rlx.config import Arch, Backbone, Dataset, RunConfig
from rlx.data import splits
from rlx.data.synthetic import CLASSES, split_counts
from rlx.tune.placement import ClusterSpec, place_groups
from rlx.tune.space import Group, SearchSpace

# Seconds of one A100 per training video (forward + backward, T = 8, 224²). A pair not listed (other backbones)
# is costed as the dearest row, ResNet-101-v2 two_branch.
SECONDS_PER_TRAIN_VIDEO: dict[tuple[Backbone, Arch], float] = {
    ("resnetv2_101", "two_branch"): 0.0044,
    ("resnetv2_101", "nonlocal"): 0.0040,
    ("resnetv2_101", "local"): 0.0034,
    ("resnetv2_101", "tsn"): 0.0034,
    ("resnetv2_50", "two_branch"): 0.0024,
    ("resnetv2_50", "nonlocal"): 0.0022,
    ("resnetv2_50", "local"): 0.0018,
    ("resnetv2_50", "tsn"): 0.0018,
}
FLOW_DATA_FACTOR = 1.3
DATASET_VIDEOS: dict[Dataset, tuple[int, int]] = {  # (train, test) of split 1
    "ucf101": (9537, 3783),
    "hmdb51": (3570, 1530),
    "charades": (7985, 1863),
}


@dataclass(frozen=True)
class GroupPlan:
    """What one group of a search costs."""

    group: Group
    trials: int
    max_trial_epochs: int  # every trial runs all epochs (FIFO) — ASHA usually stops most early
    gpu_hours: float | None  # None: no GPU (CPU-only space)
    cost_basis: str


def _videos(cfg: RunConfig) -> tuple[int, int]:
    """(train, test) videos of the config's dataset."""
    if cfg.data.dataset == "synthetic":
        train, test = split_counts(cfg.data.synthetic_videos_per_class)
        return train * len(CLASSES), test * len(CLASSES)
    if cfg.data.dataset == "custom":  # no table: count the index's videos (of the data.classes subset)
        if not cfg.data.index:
            raise ValueError("data.index is empty: data.dataset=custom trains on an index from `rlx.data index`")
        index = splits.read_index(Path(cfg.data.index).expanduser())
        index = splits.select_classes(index, cfg.data.classes) if cfg.data.classes else index
        return int((index["split"] == "train").sum()), int((index["split"] == "test").sum())
    return DATASET_VIDEOS[cfg.data.dataset]


def plan_group(space: SearchSpace, group: Group) -> GroupPlan:
    """Trials, trial-epochs (every trial to its last epoch) and GPU-hours of one group."""
    cfg = space.sample_config(group)
    trials = space.trials_per_group()
    epochs = cfg.optim.epochs
    if not cfg.train.use_gpu:
        return GroupPlan(group, trials, trials * epochs, None, "CPU trials: no GPU-hours")
    archs = space.search["model.arch"].values if "model.arch" in space.search else (cfg.model.arch,)
    per_video = max(
        SECONDS_PER_TRAIN_VIDEO.get((cfg.model.backbone, a), SECONDS_PER_TRAIN_VIDEO[("resnetv2_101", "two_branch")])
        for a in archs
    )
    per_video *= cfg.data.num_segments / 8 * (cfg.data.input_size / 224) ** 2
    if cfg.data.modality == "flow":
        per_video *= FLOW_DATA_FACTOR
    train, test = _videos(cfg)
    trial_seconds = per_video * train * epochs + per_video / 3 * test * 20  # 20 test views, forward only
    basis = f"{per_video * 1000:.1f} ms/video on an A100 (estimate, see rlx/tune/plan.py)"
    return GroupPlan(group, trials, trials * epochs, trials * trial_seconds / 3600, basis)


def describe(space: SearchSpace, cluster: ClusterSpec | None = None) -> str:
    """The human-readable plan printed by --dry-run; with a cluster, the node type each group's trials land on."""
    plans = [plan_group(space, g) for g in space.groups()]
    placed = {}
    if cluster is not None:
        placed = place_groups(space, cluster)  # PlacementError (a SpaceError) when a trial fits nowhere
    lines = [
        f"search {space.name}: {space.description}",
        f"file: {space.path}",
        f"metric: {space.metric} ({space.mode}), scheduler: {space.scheduler.type}"
        + (
            f" (grace {space.scheduler.grace_period}, reduction {space.scheduler.reduction_factor})"
            if space.scheduler.type == "asha"
            else ""
        ),
        "searched: "
        + (", ".join(f"{k} {s.kind} {list(s.values)} [{s.role}]" for k, s in space.search.items()) or "nothing"),
        f"resources per trial: {space.resources.workers_per_trial} worker(s) × "
        f"{space.resources.gpus_per_worker:g} GPU, {space.resources.cpus_per_worker:g} CPU",
        *(
            [f"cluster: {cluster.path} (each trial on the smallest node type that holds its workers)"]
            if cluster is not None
            else []
        ),
        "",
        f"{'group':<50} {'trials':>6} {'trial-epochs':>12} {'GPU-hours':>10}" + ("  node type" if placed else ""),
    ]
    for p in plans:
        hours = f"{p.gpu_hours:.3g}" if p.gpu_hours is not None else "-"
        where = f"  {placed[p.group.key].describe()}" if placed else ""
        lines.append(f"{p.group.key or 'all':<50} {p.trials:>6} {p.max_trial_epochs:>12} {hours:>10}{where}")
    total_hours = sum(p.gpu_hours or 0 for p in plans)
    lines.append(
        f"{'total':<50} {sum(p.trials for p in plans):>6} {sum(p.max_trial_epochs for p in plans):>12} "
        f"{total_hours:>10.3g}"
    )
    if any(p.gpu_hours for p in plans):
        lines.append(f"GPU-hours: upper bound (every trial to the last epoch), {plans[0].cost_basis}")
    if space.fusion_step:
        lines.append(f"fusion: RGB/flow weight searched on validation scores, step {space.fusion_step}")
    if space.refit:
        lines.append(
            f"refit: then each group's selected trial trains again on the whole training split "
            f"({len(space.groups())} more runs, about the GPU-hours of one trial per group again); "
            "the two streams' refits are fused with the weight chosen on validation"
        )
    return "\n".join(lines)
