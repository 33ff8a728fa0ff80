"""The best trial of each group keeps its final checkpoint in MLflow: as artifacts when small, else as a pointer.

The best trial is chosen among the group's finished MLflow trial runs by the
space's metric and mode at its final logged value (the value the final
checkpoint holds; Tune's own "best" may take a trial's best epoch instead),
ties to the earlier trial (`tie_order`). Its checkpoint folder is the run's tag
`rlx.checkpoint` (written by the training run). A local folder of at most
`CHECKPOINT_LOG_LIMIT_BYTES` is logged under `checkpoint/<folder name>`
(tag `rlx.checkpoint_artifact`); a larger one, or one that is not a folder
here (remote storage), gets the tags `rlx.checkpoint_pointer` (the path) and
`rlx.checkpoint_not_logged` (why). Either way the run is tagged
`rlx.best_of_group = true`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rlx.tracking import RUN_NAME_TAG, RunRecord, child_runs, log_artifacts, set_run_tags

CHECKPOINT_LOG_LIMIT_BYTES = 200 * 1024**2  # 200 MiB: larger checkpoints stay in the storage, pointed to
CHECKPOINT_ARTIFACTS = "checkpoint"


@dataclass(frozen=True)
class KeptCheckpoint:
    """What was done with the best trial's checkpoint."""

    run_id: str
    path: str  # the checkpoint folder (tag rlx.checkpoint)
    artifact: str | None  # artifact folder when logged, else None
    reason: str  # why not logged ("" when logged)


def tie_order(run: RunRecord) -> tuple[str, str]:
    """How runs with equal metrics are ordered: by run name, then run id (the report orders its ties the same).

    A trial's run is named after its Tune trial, whose name ends in the trial's index in the search: the earlier
    trial wins whichever finished first. Run ids are random, so they only order runs of equal names.
    """
    return run.tags.get(RUN_NAME_TAG, ""), run.run_id


def best_trial(runs: list[RunRecord], metric: str, mode: str) -> RunRecord | None:
    """The finished run with the best final `metric` (`mode` max or min); ties to the earlier trial."""
    scored = [r for r in runs if r.status == "FINISHED" and metric in r.metrics]
    if not scored:
        return None
    sign = -1.0 if mode == "max" else 1.0
    return min(scored, key=lambda r: (sign * r.metrics[metric], *tie_order(r)))


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def keep_checkpoint(run: RunRecord, tracking_uri: str, limit: int = CHECKPOINT_LOG_LIMIT_BYTES) -> KeptCheckpoint:
    """Log the run's checkpoint folder as artifacts if it is local and at most `limit` bytes, else point to it."""
    path = run.tags.get("rlx.checkpoint", "")
    folder = Path(path)
    tags = {"rlx.best_of_group": "true"}
    if not path:
        reason = "the run has no rlx.checkpoint tag"
    elif "://" in path or not folder.is_dir():
        reason = "not a folder on this machine (remote storage, or removed)"
    else:
        size = folder_bytes(folder)
        reason = f"{size} bytes ({size / 1024**2:.1f} MiB) > the {limit}-byte limit" if size > limit else ""
    if path and not reason:
        artifact = f"{CHECKPOINT_ARTIFACTS}/{folder.name}"
        if run.tags.get("rlx.checkpoint_artifact") != artifact:  # a resumed search does not upload it twice
            log_artifacts(run.run_id, folder, artifact, tracking_uri)
        set_run_tags(run.run_id, {**tags, "rlx.checkpoint_artifact": artifact}, tracking_uri)
        return KeptCheckpoint(run.run_id, path, artifact, "")
    set_run_tags(
        run.run_id,
        {**tags, "rlx.checkpoint_pointer": path or "none", "rlx.checkpoint_not_logged": reason},
        tracking_uri,
    )
    return KeptCheckpoint(run.run_id, path, None, reason)


def keep_best_checkpoint(
    experiment: str,
    parent_run_id: str,
    group_key: str,
    metric: str,
    mode: str,
    tracking_uri: str,
    limit: int = CHECKPOINT_LOG_LIMIT_BYTES,
) -> KeptCheckpoint | None:
    """`keep_checkpoint` for the best trial of one group of a search; None when no trial finished."""
    best = best_trial_of_group(experiment, parent_run_id, group_key, metric, mode, tracking_uri)
    return keep_checkpoint(best, tracking_uri, limit) if best is not None else None


def best_trial_of_group(
    experiment: str, parent_run_id: str, group_key: str, metric: str, mode: str, tracking_uri: str
) -> RunRecord | None:
    """`best_trial` among the trials of one group of a search (the trial a refit repeats)."""
    wanted = {"rlx.kind": "trial", **({"rlx.group": group_key} if group_key else {})}  # a space without axes: one group
    return best_trial(child_runs(experiment, parent_run_id, tag_filter=wanted, tracking_uri=tracking_uri), metric, mode)
