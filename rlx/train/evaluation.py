"""What a run measures: metrics of a prediction pass, and the final test protocol.

The final evaluation runs the paper's protocol (`eval.*` views, logits
averaged; Charades: averaged per clip, max over clips) over the test split and the validation
hold-out in one pass, computes the test metrics, and leaves the per-video
scores (and a confusion matrix) with the tracker for fusion and reports.
`test/videos` says how many test videos the test metrics cover: the test
split less the videos the probe left out (`data/excluded/test`, logged when
the run starts) and those that failed to decode now (`data/test_skipped`).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlx.config import RunConfig
from rlx.eval.metrics import charades_map, mean_class_accuracy, top_k_accuracy
from rlx.eval.plots import confusion_matrix_png
from rlx.eval.scores import write_scores
from rlx.train.interfaces import BatchSource, Tracker
from rlx.train.loop import Predictions, StepOptions, gather_predictions, predict, subset_predictions

log = logging.getLogger(__name__)
SHOWN = 3  # video ids named in a warning


def single_label_metrics(pred: Predictions, prefix: str) -> dict[str, float]:
    k = min(5, pred.scores.shape[1])
    out = {
        f"{prefix}/top1": top_k_accuracy(pred.scores, pred.labels, 1),
        f"{prefix}/top5": top_k_accuracy(pred.scores, pred.labels, k),
        f"{prefix}/loss": pred.loss,
    }
    if prefix == "test":
        out["test/mean_class_acc"] = mean_class_accuracy(pred.scores, pred.labels)
    return out


def evaluation_metrics(pred: Predictions, prefix: str, multilabel: bool) -> dict[str, float]:
    """top-1/top-5/loss (and mean class accuracy on test), or mAP for multi-label data; {} for no videos."""
    if not len(pred.video_ids):
        return {}
    if multilabel:
        if not pred.labels.any():  # e.g. a tiny hold-out of label-less videos: mAP is undefined
            return {f"{prefix}/loss": pred.loss}
        mean_ap, _ = charades_map(pred.scores, pred.labels)
        return {f"{prefix}/mAP": mean_ap, f"{prefix}/loss": pred.loss}
    return single_label_metrics(pred, prefix)


def final_evaluation(
    model: Any,
    data: BatchSource,
    cfg: RunConfig,
    opts: StepOptions,
    rank: int,
    world: int,
    tracker: Tracker | None,
    on_batch: Callable[[int], None] | None = None,
) -> dict[str, float]:
    """The paper's protocol on test and on the validation hold-out; scores to the tracker."""
    # Charades: each clip's groups × crops averaged, then the max over clips (PAPER.md §5), in logit space.
    reduce, clips = ("max", cfg.eval.num_clips) if cfg.data.multilabel else ("mean", None)
    batches = data.final_batches(rank, world)
    pred = predict(model, batches, data.normalizer, opts, cfg.eval.view_budget, reduce, on_batch, clips=clips)
    both = gather_predictions(pred)
    test_rows, val_rows = data.rows("test"), data.rows("val")
    test = subset_predictions(both, {r["video_id"] for r in test_rows}, len(test_rows), cfg.data.multilabel)
    val = subset_predictions(both, {r["video_id"] for r in val_rows}, len(val_rows), cfg.data.multilabel)
    metrics = {
        **evaluation_metrics(test, "test", cfg.data.multilabel),
        "test/videos": len(test.video_ids),
        "data/test_skipped": test.skipped,
    }
    if test.skipped and rank == 0:
        lost = sorted({str(r["video_id"]) for r in test_rows} - set(test.video_ids))
        log.warning(
            "test metrics cover %d of %d test videos: %d failed to decode (%s%s)",
            len(test.video_ids),
            len(test_rows),
            test.skipped,
            ", ".join(lost[:SHOWN]),
            f" and {len(lost) - SHOWN} more" if len(lost) > SHOWN else "",
        )
    if tracker is not None:
        tracker.log_metrics(metrics, step=cfg.optim.epochs)
        log_scores(tracker, data.class_names, test, val, cfg.data.multilabel)
    return metrics


def log_scores(tracker: Tracker, class_names: list[str], test: Predictions, val: Predictions, multilabel: bool) -> None:
    """`scores/{test,val}.parquet` (per-video logits, for fusion and reports) and the test confusion matrix."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, pred in (("test", test), ("val", val)):
            if len(pred.video_ids):
                path = write_scores(
                    Path(tmp) / f"{name}.parquet", pred.video_ids, pred.scores, pred.labels, class_names
                )
                tracker.log_artifact(path, "scores")
        if not multilabel and len(test.video_ids):
            png = confusion_matrix_png(Path(tmp) / "confusion_matrix.png", test, class_names)
            tracker.log_artifact(png, "plots")
