"""MLflow -> pandas: the finished runs of one experiment, and their artifacts on demand.

One row per finished run that carries results: search trials (`rlx.kind =
trial`), single `rlx.train` runs (`run`, or runs with no kind tag),
two-stream fusion runs (`fusion`) and, for a search with `refit: true`
(`rlx.tune.refit`), the refits of the selected trials on the whole training
split (`refit`, tag `rlx.refit_of`) and their fusions (`fusion_refit`,
grouped by `rlx.fusion.group`). Search parent runs (`search`) are kept
apart: they hold the search space and the command. Params keep their dotted
names (strings in MLflow, converted here where the report computes with
them); metrics their slash names, at their last logged value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from rlx.eval.scores import Scores, read_scores
from rlx.report.paper import all_classes
from rlx.report.search import ReportError, SearchSpaceInfo, parse_space
from rlx.tracking import (
    RUN_NAME_TAG,
    ExperimentNotFound,
    RunRecord,
    download_artifact,
    experiment_runs,
    list_artifacts,
    metric_history,
)

SELECTION_KINDS = ("trial", "run", "fusion")  # what a search chooses among (and single runs)
REFIT_KINDS = ("refit", "fusion_refit")  # rlx.tune.refit: the chosen configurations on the whole training split
RESULT_KINDS = SELECTION_KINDS + REFIT_KINDS
STREAM_OF_MODALITY = {"rgb": "spatial", "flow": "temporal", "two_stream": "two-stream"}


@dataclass
class Experiment:
    """The runs of one experiment as DataFrames, plus cached access to their artifacts."""

    name: str
    tracking_uri: str
    runs: pd.DataFrame  # one row per finished result run, sorted by (kind, run_id)
    searches: list[RunRecord]  # search parent runs
    unfinished: int  # result runs not FINISHED, left out
    cache_dir: Path
    _scores: dict = field(default_factory=dict)
    _histories: dict = field(default_factory=dict)

    # ---------------------------------------------------------------- artifacts
    def scores(self, run_id: str, subset: str = "test") -> Scores | None:
        """The run's `scores/<subset>.parquet` (table, class names), or None when it has none."""
        key = (run_id, subset)
        if key not in self._scores:
            wanted = f"scores/{subset}.parquet"
            found = wanted in list_artifacts(run_id, "scores", self.tracking_uri)
            self._scores[key] = (
                read_scores(download_artifact(run_id, wanted, self.cache_dir / run_id, self.tracking_uri))
                if found
                else None
            )
        return self._scores[key]

    def history(self, run_id: str, key: str) -> list[tuple[int, float]]:
        if (run_id, key) not in self._histories:
            self._histories[run_id, key] = metric_history(run_id, key, self.tracking_uri)
        return self._histories[run_id, key]

    # ---------------------------------------------------------------- the search
    @cached_property
    def space(self) -> SearchSpaceInfo | None:
        """The search space of the experiment's (first) search run, read from its `space/` artifact."""
        for search in sorted(self.searches, key=lambda r: r.run_id):
            files = [
                p for p in list_artifacts(search.run_id, "space", self.tracking_uri) if p.endswith((".yaml", ".yml"))
            ]
            if files:
                path = download_artifact(search.run_id, files[0], self.cache_dir / search.run_id, self.tracking_uri)
                return parse_space(path.read_text(), where=f"run {search.run_id} {files[0]}")
            tagged = search.tags.get("rlx.space")
            if tagged and Path(tagged).is_file():  # an old search without the artifact: the file, if still here
                return parse_space(Path(tagged).read_text(), where=tagged)
        return None

    @property
    def search_command(self) -> str:
        commands = sorted({s.tags.get("rlx.command", "") for s in self.searches} - {""})
        return commands[0] if commands else ""

    @property
    def results(self) -> pd.DataFrame:
        """Trials and single runs (not fusion runs, not refits)."""
        return self.runs[self.runs["kind"].isin(("trial", "run"))]

    @property
    def fusions(self) -> pd.DataFrame:
        """The selection stage's fusion runs (not the fusions of refits)."""
        return self.runs[self.runs["kind"] == "fusion"]

    @property
    def selection_runs(self) -> pd.DataFrame:
        """Everything but the refits: the runs a search ranks and chooses among."""
        return self.runs[self.runs["kind"].isin(SELECTION_KINDS)]


def load_experiment(name: str, tracking_uri: str, cache_dir: Path) -> Experiment:
    """The experiment's runs; ReportError when it does not exist or has no finished result run."""
    try:
        records = experiment_runs(name, tracking_uri)
    except ExperimentNotFound as err:
        raise ReportError(str(err)) from None
    searches = [r for r in records if r.tags.get("rlx.kind") == "search"]
    results = [r for r in records if r.tags.get("rlx.kind", "run") in RESULT_KINDS]
    finished = [r for r in results if r.status == "FINISHED"]
    if not finished:
        raise ReportError(
            f"MLflow experiment {name!r} at {tracking_uri} has no finished runs "
            f"({len(results)} unfinished, {len(searches)} search run(s))"
        )
    frame = pd.DataFrame([_row(r) for r in finished])
    frame = frame.sort_values(["kind", "run_id"], kind="stable").reset_index(drop=True)
    return Experiment(name, tracking_uri, frame, searches, len(results) - len(finished), cache_dir)


def _row(record: RunRecord) -> dict[str, Any]:
    """One run: identity and tags, derived columns the tables group by, params, metrics."""
    p, t = record.params, record.tags
    row: dict[str, Any] = {
        "run_id": record.run_id,
        "name": t.get(RUN_NAME_TAG, ""),  # with the run id, orders ties (rlx.tune.best.tie_order)
        "kind": t.get("rlx.kind", "run"),
        # A fusion refit's group is its pair's (`rlx.fusion.group`): its `rlx.group` is "".
        "group": t.get("rlx.group") or t.get("rlx.fusion.group", ""),
        "refit_of": t.get("rlx.refit_of", ""),
        "command": t.get("rlx.command", ""),
        "parent": t.get("mlflow.parentRunId", ""),
        "pairing": t.get("rlx.fusion.pairing", ""),
        "rgb_run": t.get("rlx.fusion.rgb_run", ""),
        "flow_run": t.get("rlx.fusion.flow_run", ""),
        "dataset": p.get("data.dataset") or t.get("rlx.dataset", ""),
        "split": _int(p.get("data.split"), 1),
        "stream": STREAM_OF_MODALITY.get(p.get("data.modality", "rgb"), p.get("data.modality", "")),
        "arch": p.get("model.arch", ""),
        "T": _int(p.get("data.num_segments"), 0),
        "insertion": p.get("model.insert_after", ""),
        "seed": _int(p.get("train.seed"), 0),
        "classes": "" if all_classes(p.get("data.classes", "")) else p["data.classes"],  # "": every class
    }
    row.update({f"param:{k}": v for k, v in p.items()})
    row.update({f"metric:{k}": v for k, v in record.metrics.items()})
    return row


def _int(text: str | None, default: int) -> int:
    try:
        return int(float(text)) if text not in (None, "") else default
    except ValueError:
        return default
