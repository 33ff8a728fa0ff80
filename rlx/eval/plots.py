"""Evaluation figures written as PNG files (matplotlib, no display)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rlx.eval.metrics import confusion_matrix


def confusion_matrix_png(path: Path, pred: Any, class_names: list[str]) -> Path:
    """Row-normalised confusion matrix of single-label predictions (rows = true class).

    `pred` has `scores` (N, K) and `labels` (N,).
    """
    # matplotlib (~1 s) only when a figure is drawn: rlx.train.evaluation imports this module in every Ray worker.
    from matplotlib.figure import Figure  # noqa: PLC0415  (see above)

    k = len(class_names)
    counts = confusion_matrix(pred.scores, pred.labels, k).astype(np.float64)
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    side = min(2 + 0.35 * k, 30)
    fig = Figure(figsize=(side, side))
    ax = fig.subplots()
    ax.imshow(rates, vmin=0, vmax=1, cmap="Blues")
    if k <= 60:
        ax.set_xticks(range(k), class_names, rotation=90, fontsize=7)
        ax.set_yticks(range(k), class_names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"confusion matrix ({len(pred.labels)} test videos)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    return path
