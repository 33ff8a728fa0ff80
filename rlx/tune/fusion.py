"""The two-stream fusion stage of a search: RGB × flow weight, chosen on validation scores.

When a space trains both streams of the same experiment (groups equal but
for the stream's own keys), the finished trials are paired — RGB and flow
trials with otherwise equal searched values; when random sampling leaves no
equal pair, the best trial of each stream — and each pair becomes one Tune
trial of a second, cheap stage: it reads both trials' stored score tables
from MLflow (no model, no GPU), grid-searches the RGB weight on the
validation hold-out (`rlx.eval.fusion`) and reports test at that weight.
Each pair has its own MLflow run under the search run, tagged with both
trials' run ids (`rlx.fusion.rgb_run` / `rlx.fusion.flow_run`).
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ray import tune

from rlx.eval.fusion import align, fuse, fused_test_metrics, search_weight
from rlx.eval.scores import read_scores, write_scores
from rlx.tracking import RunRecord, child_runs, download_artifact, find_run, open_run, run_record
from rlx.tune.run import driver_resources
from rlx.tune.space import Group, SearchSpace

log = logging.getLogger(__name__)

# Keys a stream may set on its own (PAPER.md §6: each stream has its frames, input length, dropout and
# schedule; §5.2: the temporal stream starts from the spatial one); every other key must be equal for two
# groups or two trials to be fused.
STREAM_KEYS = (
    "data.modality",
    "data.new_length",
    "data.videos",
    "data.index",
    "model.pretrained",
    "model.dropout",
    "model.init_from",
    "model.init_strict",
)
STREAM_PREFIXES = ("optim.",)


def _is_stream_key(key: str) -> bool:
    return key in STREAM_KEYS or key.startswith(STREAM_PREFIXES)


@dataclass(frozen=True)
class StreamPair:
    rgb: Group
    flow: Group

    @property
    def key(self) -> str:
        """The fused group's label: the RGB group's axes point less the axis that sets the stream."""
        return ",".join(f"{k}={v}" for k, v in self.rgb.point if k != _stream_axis(self.rgb))


def _stream_axis(group: Group) -> str | None:
    """The axis (plain `data.modality` or a bundle setting it) whose value picks the stream."""
    return next((axis for axis, keys in group.axis_settings.items() if "data.modality" in keys), None)


def stream_pairs(space: SearchSpace) -> list[StreamPair]:
    """RGB and flow groups that differ only in their stream's own keys."""

    def identity(group: Group) -> str:
        return json.dumps({k: v for k, v in group.flat.items() if not _is_stream_key(k)}, sort_keys=True, default=str)

    groups = space.groups()
    flows: dict[str, list[Group]] = {}
    for g in groups:
        if g.flat.get("data.modality") == "flow":
            flows.setdefault(identity(g), []).append(g)
    pairs = []
    for g in groups:
        if g.flat.get("data.modality", "rgb") != "rgb":
            continue
        match = flows.get(identity(g), [])
        if len(match) > 1:
            raise ValueError(f"{space.path}: RGB group {g.key} matches {len(match)} flow groups; cannot pair them")
        if match:
            pairs.append(StreamPair(g, match[0]))
    return pairs


@dataclass(frozen=True)
class FusionJob:
    """One pair of finished trials to fuse (the param of one Tune trial of the fusion stage)."""

    group: str  # StreamPair.key
    rgb_run: str  # MLflow run ids
    flow_run: str
    pairing: str  # "equal-config" | "best-per-stream"


@dataclass(frozen=True)
class FusionContext:
    experiment: str
    parent_run_id: str
    tracking_uri: str
    step: float
    command: str


def pair_trials(rgb: list, flow: list, searched: list[str], metric: str, mode: str) -> list[tuple[Any, Any, str]]:
    """(rgb run, flow run, pairing) from two groups' finished trials (`RunRecord`s).

    Trials pair when their searched non-stream values are equal (a grid over T or the arch gives one pair
    per value); within one such class the best trial of each stream is used (e.g. several seeds). When no
    class has both streams (random samplers), the best trial of each stream is fused once.
    """
    keys = [k for k in searched if not _is_stream_key(k)]
    sign = 1 if mode == "max" else -1

    def best(runs):
        scored = [r for r in runs if metric in r.metrics]
        return max(scored, key=lambda r: (sign * r.metrics[metric], r.run_id)) if scored else None

    def classes(runs):
        out: dict[tuple, list] = {}
        for r in runs:
            out.setdefault(tuple(r.params.get(k) for k in keys), []).append(r)
        return out

    rgb_classes, flow_classes = classes(rgb), classes(flow)
    pairs = []
    for values in sorted(set(rgb_classes) & set(flow_classes), key=str):
        a, b = best(rgb_classes[values]), best(flow_classes[values])
        if a is not None and b is not None:
            pairs.append((a, b, "equal-config"))
    if not pairs and best(rgb) is not None and best(flow) is not None:
        pairs.append((best(rgb), best(flow), "best-per-stream"))
    return pairs


def plan_jobs(space: SearchSpace, parent_run_id: str, tracking_uri: str) -> list[FusionJob]:
    """The fusion jobs of a finished (or partly finished) search, read from its MLflow trial runs."""
    jobs = []
    for pair in stream_pairs(space):
        trials = {}
        for stream, group in (("rgb", pair.rgb), ("flow", pair.flow)):
            runs = child_runs(
                space.name,
                parent_run_id,
                tag_filter={"rlx.group": group.key, "rlx.kind": "trial"},
                tracking_uri=tracking_uri,
            )
            trials[stream] = [r for r in runs if r.status == "FINISHED"]
        found = pair_trials(trials["rgb"], trials["flow"], list(space.search), space.metric, space.mode)
        if not found:
            log.warning(
                "fusion: group %s has no finished trial of %s",
                pair.key or "all",
                " and ".join(s for s in ("rgb", "flow") if not trials[s]) or "either stream with the metric",
            )
        jobs += [FusionJob(pair.key, a.run_id, b.run_id, how) for a, b, how in found]
    return jobs


def fuse_pair(job: FusionJob, ctx: FusionContext) -> dict[str, float]:
    """Fuse one pair from its stored scores and record it as an MLflow run; returns its metrics.

    Idempotent: the run is keyed by the two trial ids, so a resumed search finds a finished fusion run
    and returns its metrics instead of logging them twice.
    """
    key = f"fusion-{job.rgb_run}-{job.flow_run}"
    existing = find_run(ctx.experiment, key, tracking_uri=ctx.tracking_uri)
    if existing is not None:
        record = run_record(existing.run_id, tracking_uri=ctx.tracking_uri)
        if record.status == "FINISHED":
            return dict(record.metrics)

    with tempfile.TemporaryDirectory() as tmp:
        tables = {}
        for stream, run_id in (("rgb", job.rgb_run), ("flow", job.flow_run)):
            for subset in ("val", "test"):
                path = download_artifact(run_id, f"scores/{subset}.parquet", Path(tmp) / stream, ctx.tracking_uri)
                tables[stream, subset] = read_scores(path)
        aligned = {
            subset: align(
                tables["rgb", subset][0],
                tables["flow", subset][0],
                tables["rgb", subset][1],
                tables["flow", subset][1],
                subset,
            )
            for subset in ("val", "test")
        }
        result = search_weight(aligned["val"], aligned["test"], ctx.step)
        name = result.metric
        metrics = {
            "fusion/weight_rgb": result.weight_rgb,
            f"val/{name}": result.val_metric,
            **fused_test_metrics(aligned["test"], result.weight_rgb),
            "fusion/test_optimal_weight_rgb": result.test_optimal_weight_rgb,
            f"test/{name}_at_test_optimal_weight": result.test_metric_at_test_optimal,
        }
        rgb = run_record(job.rgb_run, tracking_uri=ctx.tracking_uri)
        flow = run_record(job.flow_run, tracking_uri=ctx.tracking_uri)
        metrics.update(pair_coverage(rgb, flow, len(aligned["test"][0].labels)))
        tracker = open_run(
            ctx.experiment,
            key,
            run_name=f"fusion {job.group or 'all'}",
            parent_run_id=ctx.parent_run_id,
            tracking_uri=ctx.tracking_uri,
            tags={
                "rlx.kind": "fusion",
                "rlx.group": job.group,
                "rlx.fusion.rgb_run": job.rgb_run,
                "rlx.fusion.flow_run": job.flow_run,
                "rlx.fusion.pairing": job.pairing,
                "rlx.command": ctx.command,
                "rlx.dataset": rgb.tags.get("rlx.dataset", ""),
            },
        )
        tracker.log_params({**rgb.params, "data.modality": "two_stream", "fusion.step": ctx.step})
        tracker.log_metrics(metrics, step=0)
        curve = result.curve.rename(columns={"val": f"val/{name}", "test": f"test/{name}"})
        tracker.log_text(curve.to_csv(index=False, float_format="%.6f"), "fusion/curve.csv")
        classes = tables["rgb", "test"][1]
        for subset in ("val", "test"):  # the fused scores, so reports and ensembles read them like any trial's
            rgb_s, flow_s = aligned[subset]
            ids = tables["rgb", subset][0]["video_id"].tolist()
            path = write_scores(
                Path(tmp) / "fused" / f"{subset}.parquet",
                ids,
                fuse(rgb_s.scores, flow_s.scores, result.weight_rgb),
                rgb_s.labels,
                classes,
            )
            tracker.log_artifact(path, "scores")
        tracker.finish("FINISHED")
    log.info(
        "fusion %s: RGB weight %.2f (chosen on val) -> test %s %.4f; test-optimal weight %.2f -> %.4f",
        job.group or "all",
        result.weight_rgb,
        name,
        result.test_metric,
        result.test_optimal_weight_rgb,
        result.test_metric_at_test_optimal,
    )
    return metrics


def pair_coverage(rgb: RunRecord, flow: RunRecord, test_videos: int) -> dict[str, float]:
    """`test/videos` and `data/excluded/*` of a fused pair.

    The fused test covers the videos both streams scored (`align` checks they are the same), so what each
    stream's data left out is the pair's: the larger count, should the two runs' counts differ.
    """
    out = {"test/videos": float(test_videos)}
    for excluded in ("data/excluded/train", "data/excluded/val", "data/excluded/test"):
        counts = [r.metrics[excluded] for r in (rgb, flow) if excluded in r.metrics]
        if counts:
            out[excluded] = max(counts)
    return out


def fusion_trial(config: dict[str, Any], ctx: FusionContext) -> None:
    """The Tune trainable of the fusion stage: one pair of trials."""
    tune.report(fuse_pair(FusionJob(**config["job"]), ctx))


def run_fusion(space: SearchSpace, ctx: FusionContext, storage: str) -> list[dict[str, Any]]:
    """The fusion stage as one Tuner (one trial per pair); returns one summary per pair."""
    jobs = plan_jobs(space, ctx.parent_run_id, ctx.tracking_uri)
    if not jobs:
        return []
    print(f"\n=== fusion: {len(jobs)} RGB × flow pair(s), weight step {ctx.step} on validation scores ===", flush=True)
    trainable = tune.with_resources(tune.with_parameters(fusion_trial, ctx=ctx), driver_resources())
    tuner = tune.Tuner(
        trainable,
        param_space={"job": tune.grid_search([asdict(j) for j in jobs])},
        tune_config=tune.TuneConfig(
            metric="fusion/weight_rgb", mode="max"
        ),  # Tune needs one; nothing is scheduled on it
        run_config=tune.RunConfig(name=f"{space.name}-fusion", storage_path=storage),
    )
    results = tuner.fit()
    out = []
    for result in results:
        job, metrics = result.config["job"], result.metrics or {}
        out.append(
            {
                "group": job["group"] or "all",
                "pairing": job["pairing"],
                "rgb_run": job["rgb_run"],
                "flow_run": job["flow_run"],
                "error": str(result.error) if result.error else None,
                **{k: metrics.get(k) for k in sorted(metrics) if k.startswith(("fusion/", "test/", "val/"))},
            }
        )
    return sorted(out, key=lambda s: (s["group"], s["rgb_run"]))
