"""Hand-built runs, score tables and rows in the shapes `rlx.report` gives (no MLflow), for the report's unit tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rlx.eval.scores import Scores, scores_table
from rlx.report.rows import ResultRow, SplitRow, metrics_from

MODALITY = {"spatial": "rgb", "temporal": "flow", "two-stream": "two_stream"}


def run(
    run_id: str,
    metrics: dict[str, float] | None = None,
    params: dict[str, Any] | None = None,
    *,
    dataset: str = "ucf101",
    split: int = 1,
    stream: str = "spatial",
    arch: str = "two_branch",
    T: int = 8,
    insertion: str = "conv5_2",
    seed: int = 0,
    group: str = "g1",
    kind: str = "trial",
    command: str = "cmd",
    classes: str = "",
    refit_of: str = "",
    rgb_run: str = "",
    flow_run: str = "",
    name: str = "",
) -> dict[str, Any]:
    """One row of `Experiment.runs`: identity, the derived columns, params as strings, metrics as floats."""
    row: dict[str, Any] = {
        "run_id": run_id,
        "name": name,
        "kind": kind,
        "group": group,
        "refit_of": refit_of,
        "command": command,
        "parent": "",
        "pairing": "",
        "rgb_run": rgb_run,
        "flow_run": flow_run,
        "dataset": dataset,
        "split": split,
        "stream": stream,
        "arch": arch,
        "T": T,
        "insertion": insertion,
        "seed": seed,
        "classes": classes,
    }
    logged = {
        "data.dataset": dataset,
        "data.split": split,
        "data.modality": MODALITY[stream],
        "data.num_segments": T,
        "model.arch": arch,
        "model.insert_after": insertion,
        "train.seed": seed,
        "data.classes": classes or "[]",
    }
    row.update({f"param:{k}": str(v) for k, v in (logged | (params or {})).items()})
    row.update({f"metric:{k}": float(v) for k, v in (metrics or {}).items()})
    return row


def frame(*runs: dict[str, Any]) -> pd.DataFrame:
    """The runs as `load_experiment` orders them: by kind, then run id."""
    return pd.DataFrame(list(runs)).sort_values(["kind", "run_id"], kind="stable").reset_index(drop=True)


UCF_CLASSES = ["ApplyEyeMakeup", "Archery", "Basketball", "Biking"]
LABELS = np.array([0, 0, 1, 1, 2, 2, 3, 3])


def logits(pred: list[int], magnitude: list[float], num_classes: int = 4) -> np.ndarray:
    """(N, K) scores: `magnitude` at the predicted class, 0 elsewhere."""
    out = np.zeros((len(pred), num_classes), np.float32)
    out[np.arange(len(pred)), pred] = magnitude
    return out


# TSN: right on classes 0-2, both class-3 videos predicted as class 0 -> per class [100, 100, 100, 0].
TSN_SCORES = logits([0, 0, 1, 1, 2, 2, 0, 0], [2.0] * 8)
# R-LSTM: both class-0 videos predicted as class 1 (weakly for v_0), the rest right -> [0, 100, 100, 100].
RLSTM_SCORES = logits([1, 1, 1, 1, 2, 2, 3, 3], [1.5, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0])


def scores(matrix: np.ndarray, labels: np.ndarray = LABELS, classes: list[str] = UCF_CLASSES) -> Scores:
    """A run's stored test scores (table, class names) for videos v_0, v_1, ..."""
    videos = [f"v_{i}" for i in range(len(labels))]
    return scores_table(videos, matrix, labels, classes), list(classes)


def result_row(**kw) -> ResultRow:
    fields = dict(
        dataset="ucf101",
        split=1,
        stream="spatial",
        arch="two_branch",
        T=8,
        insertion="conv5_2",
        metrics=metrics_from({"test/top1": [80.0, 84.0], "test/top5": [100.0, 100.0]}),
        trials=3,
        seeds=2,
        chosen="model.dropout=0.5",
        run_ids=("a", "b"),
        command="cmd",
    )
    return ResultRow(**(fields | kw))


def split_row(**kw) -> SplitRow:
    fields = dict(
        dataset="ucf101",
        stream="spatial",
        arch="tsn",
        T=8,
        insertion="conv5_2",
        splits=(1, 2, 3),
        expected_splits=3,
        metrics=metrics_from({"test/top1": [88.0, 70.0, 60.0]}),
        trials=4,
        run_ids=("a", "b", "c"),
        command=None,
    )
    return SplitRow(**(fields | kw))


def refit_search() -> list[dict[str, Any]]:
    """A `refit: true` search on UCF-101 split 1 (`rlx.tune.refit`), with one group left without a refit.

    Two-branch RGB group "rgb": trials ta (dropout 0.5, best on val) and tb (dropout 0.8: better on test, not
    chosen), refit ra of ta. Flow group "flow": trial fa, refit rf of fa. Fusion group "pair": the selection
    fusion fu of ta × fa, and fr, the fusion of the two refits at fu's weight. Non-local RGB group "nl": trial
    na, no refit yet. Selection runs hold out 10 % of the training split; refits none.
    """
    held, full = {"data.val_fraction": 0.1}, {"data.val_fraction": 0.0}
    return [
        run("ta", {"val/top1": 0.90, "test/top1": 0.70}, held | {"model.dropout": 0.5}, group="rgb"),
        run("tb", {"val/top1": 0.70, "test/top1": 0.95}, held | {"model.dropout": 0.8}, group="rgb"),
        run("ra", {"test/top1": 0.85}, full | {"model.dropout": 0.5}, group="rgb", kind="refit", refit_of="ta"),
        run("fa", {"val/top1": 0.80, "test/top1": 0.75}, held, stream="temporal", group="flow"),
        run("rf", {"test/top1": 0.80}, full, stream="temporal", group="flow", kind="refit", refit_of="fa"),
        run(
            "fu",
            {"val/top1": 0.95, "test/top1": 0.90, "fusion/weight_rgb": 0.45},
            held | {"model.dropout": 0.5},
            stream="two-stream",
            group="pair",
            kind="fusion",
            rgb_run="ta",
            flow_run="fa",
        ),
        run(
            "fr",
            {"test/top1": 0.93, "fusion/weight_rgb": 0.45},
            full | {"model.dropout": 0.5},
            stream="two-stream",
            group="pair",
            kind="fusion_refit",
            rgb_run="ra",
            flow_run="rf",
        ),
        run("na", {"val/top1": 0.60, "test/top1": 0.65}, held, arch="nonlocal", group="nl"),
    ]
