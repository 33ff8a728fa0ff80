"""Refit on the full official training split, choosing nothing on test (`refit: true` in a space).

The paper trains on the whole official training split. Choosing anything —
a group's best trial, the two-stream weight — needs data the test never
saw, so a space with `refit: true` runs in two stages:

1. selection: every group trains without the validation hold-out
   (`data.val_fraction` of the training split); the best trial of each group
   is chosen on validation (the space's metric at its final value,
   `rlx.tune.best`), and each RGB × flow pair's weight on validation scores
   (the fusion stage, `rlx.tune.fusion`);
2. refit: each group's selected configuration trains again on the whole
   training split (`data.val_fraction = 0`), one run per group
   (`rlx.kind = refit`, tag `rlx.refit_of` = the selected trial); a flow
   refit whose group starts from another (`model.init_from: group:…`)
   starts from that group's refit; each pair's refits are fused with the
   weight chosen in stage 1 (`rlx.kind = fusion_refit`).

The refit rows are the numbers to compare with the paper; the selection
rows stay in the report as what the choices were made on.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from pathlib import Path
from typing import Any

import yaml
from ray import tune

from rlx.config import RunConfig
from rlx.eval.fusion import align, fuse, fused_test_metrics
from rlx.eval.scores import read_scores, write_scores
from rlx.tracking import RunRecord, child_runs, download_artifact, find_run, open_run, run_record
from rlx.train.prepare import prepare_dataset
from rlx.tune.fusion import FusionContext, pair_coverage
from rlx.tune.run import TrialBase, driver_resources, trial_driver
from rlx.tune.space import Group, SearchSpace

log = logging.getLogger(__name__)

REFIT = "refit"
FUSION_REFIT = "fusion_refit"


def refit_config(space: SearchSpace, group: Group, trial: RunRecord) -> dict[str, Any]:
    """The flat config of a group's refit: the group's keys, the selected trial's searched values, no hold-out."""
    # MLflow keeps params as text (str() of the value): YAML reads numbers, booleans, lists and names back.
    searched = {key: yaml.safe_load(trial.params[key]) for key in space.search}
    return {**group.flat, **searched, "data.val_fraction": 0.0}


def run_refit(space: SearchSpace, group: Group, trial: RunRecord, base: TrialBase, resume: bool) -> dict[str, Any]:
    """Train the group's selected configuration on the whole training split (one Tune trial); its summary."""
    config = refit_config(space, group, trial)
    # Its own prepared dataset: the same videos, with the hold-out back in the training subset.
    dataset_dir = str(prepare_dataset(RunConfig.from_flat(config).data))
    base = dataclasses.replace(base, kind=REFIT, tags={"rlx.refit_of": trial.run_id}, dataset_dir=dataset_dir)
    trainable = tune.with_resources(tune.with_parameters(trial_driver, base=base), driver_resources())
    name = f"{space.name}-{group.slug}-{REFIT}"
    path = f"{base.storage.rstrip('/')}/{name}"
    if resume and tune.Tuner.can_restore(path):
        tuner = tune.Tuner.restore(path, trainable, resume_unfinished=True, resume_errored=True, param_space=config)
    else:
        # No metric: a refit has no validation data, and there is nothing to choose among one trial.
        tuner = tune.Tuner(
            trainable, param_space=config, run_config=tune.RunConfig(name=name, storage_path=base.storage)
        )
    (result,) = tuner.fit()
    return {
        "group": group.key or "all",
        "refit_of": trial.run_id,
        "error": str(result.error) if result.error else None,
        **{k: v for k, v in sorted((result.metrics or {}).items()) if k.startswith("test/")},
    }


def refit_of(space: SearchSpace, parent_run_id: str, trial_run_id: str, uri: str) -> RunRecord | None:
    """The finished refit of a selection trial, or None."""
    runs = child_runs(space.name, parent_run_id, tag_filter={"rlx.kind": REFIT}, tracking_uri=uri)
    return next((r for r in runs if r.tags.get("rlx.refit_of") == trial_run_id and r.status == "FINISHED"), None)


def fuse_refits(space: SearchSpace, fused: list[dict[str, Any]], ctx: FusionContext) -> list[dict[str, Any]]:
    """Each selection pair's refits fused with the RGB weight chosen on validation in stage 1."""
    out = []
    for pair in fused:
        if pair["error"] or pair.get("fusion/weight_rgb") is None:
            continue
        rgb = refit_of(space, ctx.parent_run_id, pair["rgb_run"], ctx.tracking_uri)
        flow = refit_of(space, ctx.parent_run_id, pair["flow_run"], ctx.tracking_uri)
        if rgb is None or flow is None:
            log.warning("refit fusion %s: a stream has no finished refit", pair["group"])
            continue
        metrics = fuse_refit_pair(pair["group"], rgb, flow, float(pair["fusion/weight_rgb"]), ctx)
        out.append({"group": pair["group"], "rgb_run": rgb.run_id, "flow_run": flow.run_id, **metrics})
    return out


def fuse_refit_pair(group: str, rgb: RunRecord, flow: RunRecord, weight_rgb: float, ctx: FusionContext) -> dict:
    """One refit pair fused at a given weight, recorded as an MLflow run (idempotent, keyed by the two runs)."""
    key = f"{FUSION_REFIT}-{rgb.run_id}-{flow.run_id}"
    existing = find_run(ctx.experiment, key, tracking_uri=ctx.tracking_uri)
    record = run_record(existing.run_id, ctx.tracking_uri) if existing is not None else None
    if record is not None and record.status == "FINISHED":  # a resumed search: fused already
        return dict(record.metrics)
    with tempfile.TemporaryDirectory() as tmp:
        tables = {
            stream: read_scores(
                download_artifact(run.run_id, "scores/test.parquet", Path(tmp) / stream, ctx.tracking_uri)
            )
            for stream, run in (("rgb", rgb), ("flow", flow))
        }
        (rgb_frame, classes), (flow_frame, flow_classes) = tables["rgb"], tables["flow"]
        test = align(rgb_frame, flow_frame, classes, flow_classes, "test")
        metrics = {
            "fusion/weight_rgb": weight_rgb,
            **fused_test_metrics(test, weight_rgb),
            **pair_coverage(rgb, flow, len(test[0].labels)),
        }
        tracker = open_run(
            ctx.experiment,
            key,
            run_name=f"fusion refit {group or 'all'}",
            parent_run_id=ctx.parent_run_id,
            tracking_uri=ctx.tracking_uri,
            tags={
                "rlx.kind": FUSION_REFIT,
                "rlx.group": "",
                "rlx.fusion.group": group,
                "rlx.fusion.rgb_run": rgb.run_id,
                "rlx.fusion.flow_run": flow.run_id,
                "rlx.fusion.weight_from": "the selection stage's validation scores",
                "rlx.command": ctx.command,
                "rlx.dataset": rgb.tags.get("rlx.dataset", ""),
            },
        )
        tracker.log_params({**rgb.params, "data.modality": "two_stream", "fusion.step": ctx.step})
        tracker.log_metrics(metrics, step=0)
        path = write_scores(
            Path(tmp) / "fused" / "test.parquet",
            rgb_frame["video_id"].tolist(),
            fuse(test[0].scores, test[1].scores, weight_rgb),
            test[0].labels,
            classes,
        )
        tracker.log_artifact(path, "scores")
        tracker.finish("FINISHED")
    return metrics
