"""`model.init_from: group:<group key>` — a search group whose trials start from another group's trials.

The paper trains the temporal stream starting from the trained spatial stream
(seed paper §5.2). In a search, the flow group names the RGB group
(`model.init_from: group:stream=rgb`); groups run in file order, so the
referenced one has finished. Each trial starts from the referenced group's
finished trial with the same searched values (grid searches pair one to one);
when none has them (random samplers draw different values per group), from
that group's best trial by the search metric — and the run says which
(`rlx.init_from_trial` tag: group, run id, how it was matched).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from rlx.tracking import experiment_runs
from rlx.train.init_from import InitFromError
from rlx.tune.best import best_trial, tie_order

Match = Literal["same searched values", "best of group"]


@dataclass(frozen=True)
class SourceTrial:
    run_id: str
    checkpoint: str
    match: Match

    def note(self, group: str) -> str:
        return f"group {group}, run {self.run_id} ({self.match})"


def source_trial(
    experiment: str,
    parent_run_id: str,
    group: str,
    flat: dict[str, Any],
    searched: tuple[str, ...],
    metric: str,
    mode: str,
    tracking_uri: str,
    kind: str = "trial",
) -> SourceTrial:
    """The finished run of `kind` (a trial, or a refit of rlx.tune.refit) of `group` a run with config `flat`
    starts from."""
    candidates = [
        run
        for run in experiment_runs(experiment, tracking_uri)
        if run.tags.get("mlflow.parentRunId") == parent_run_id
        and run.tags.get("rlx.group") == group
        and run.tags.get("rlx.kind") == kind
        and run.status == "FINISHED"
        and run.tags.get("rlx.checkpoint")
    ]
    if not candidates:
        raise InitFromError(
            f"model.init_from: group {group!r} of search {experiment!r} has no finished {kind} with a checkpoint "
            "(it must come earlier in the space's axes and finish first)"
        )
    same = [run for run in candidates if all(run.params.get(k) == str(flat[k]) for k in searched)]
    match: Match = "same searched values" if same else "best of group"
    pool = same or candidates
    best = best_trial(pool, metric, mode) or min(pool, key=tie_order)  # none has the metric: the earliest trial
    return SourceTrial(best.run_id, best.tags["rlx.checkpoint"], match)
