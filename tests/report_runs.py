"""Hand-built runs and score tables in the shapes `rlx.report.load` gives (no MLflow), for the report's unit tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rlx.eval.scores import Scores, scores_table

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
) -> dict[str, Any]:
    """One row of `Experiment.runs`: identity, the derived columns, params as strings, metrics as floats."""
    row: dict[str, Any] = {
        "run_id": run_id,
        "kind": kind,
        "group": group,
        "command": command,
        "parent": "",
        "pairing": "",
        "rgb_run": "",
        "flow_run": "",
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
