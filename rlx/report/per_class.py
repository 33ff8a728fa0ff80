"""Per-class numbers from stored scores: the classes one arch improves most over another (the paper's Fig. 3),
and the synthetic benchmark's accuracy per class family.

Both read the chosen runs' `scores/test.parquet` (single-label runs only)
and average over the runs (seeds) of a cell. Each class gain carries a
paired test on that class's test videos, each family accuracy its 95 %
interval (`rlx.eval.uncertainty`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlx.eval.families import FAMILIES, class_family, family_accuracy
from rlx.eval.metrics import per_class_accuracy as recall_per_class
from rlx.eval.scores import Scores, ScoresOf, score_matrix
from rlx.eval.uncertainty import Comparison, accuracy_ci, compare_accuracy
from rlx.report.coverage import Coverage
from rlx.report.rows import Stat, arch_rank, mean_std, stream_rank
from rlx.report.selection import CellResult
from rlx.report.significance import Outcomes, outcomes_of

# (A, B): the gain of A over B is shown for the first pair of archs a dataset / split / stream has.
GAIN_PAIRS = (
    ("two_branch", "tsn"),
    ("two_branch", "local"),
    ("nonlocal", "tsn"),
    ("nonlocal", "local"),
    ("two_branch", "nonlocal"),
)


@dataclass(frozen=True)
class ClassAccuracy:
    """Per-class test accuracy of a cell."""

    classes: list[str]  # in class-id order
    percent: np.ndarray  # (K,) mean over the runs of each class's top-1 recall; NaN for a class without videos


def per_class_accuracy(run_ids: list[str], scores: ScoresOf) -> ClassAccuracy | None:
    """Mean over the runs of per-class test accuracy.

    None unless every run has single-label scores of the same classes.
    """
    accs, names = [], None
    for run_id in run_ids:
        got = scores(run_id)
        if got is None:
            return None
        frame, classes = got
        if "label" not in frame or (names is not None and classes != names):
            return None
        names = classes
        accs.append(100 * recall_per_class(score_matrix(frame, classes), frame["label"].to_numpy(), len(classes)))
    return ClassAccuracy(names, np.nanmean(np.stack(accs), axis=0)) if accs else None


def _place_order(place: tuple[str, str, int, str]) -> tuple:
    dataset, classes, split, stream = place
    return dataset, classes, split, stream_rank(stream)


def gain_pairs(cells: list[CellResult]) -> list[tuple[CellResult, CellResult]]:
    """(A, B) cells of the same dataset / classes / split / stream, for the first pair of GAIN_PAIRS present.

    Of several cells of one arch (other T or insertion points), the last is taken.
    """
    by: dict[tuple[str, str, int, str], dict[str, CellResult]] = {}
    for c in cells:
        by.setdefault((c.row.dataset, c.row.classes, c.row.split, c.row.stream), {})[c.row.arch] = c
    out = []
    for key in sorted(by, key=_place_order):
        for a, b in GAIN_PAIRS:
            if a in by[key] and b in by[key]:
                out.append((by[key][a], by[key][b]))
                break
    return out


@dataclass(frozen=True)
class ClassGains:
    """The classes A gains most on over B, most improved first (one figure, and rows of the gains table)."""

    a: CellResult
    b: CellResult
    classes: list[str]
    acc_a: np.ndarray  # (top,) percent
    acc_b: np.ndarray  # (top,) percent
    gain: np.ndarray  # (top,) acc_a - acc_b, percentage points
    tests: tuple[Comparison | None, ...] = ()  # per class: A - B on its test videos (points); None without scores
    intervals_a: tuple[tuple[float, float] | None, ...] = ()  # per class: 95 % interval of acc_a (percent)
    intervals_b: tuple[tuple[float, float] | None, ...] = ()


def class_tests(a: Outcomes | None, b: Outcomes | None, class_ids: list[int]) -> tuple[Comparison | None, ...]:
    """Per class: top-1 of A - B on that class's test videos, paired (McNemar for single runs), in points."""
    if a is None or b is None or a.video_ids != b.video_ids or a.multilabel:
        return tuple(None for _ in class_ids)
    ca, cb = a.correct(1), b.correct(1)
    out = []
    for k in class_ids:
        mask = a.labels == k
        out.append(compare_accuracy(ca[:, mask], cb[:, mask]).scaled(100) if mask.any() else None)
    return tuple(out)


def class_intervals(outcomes: Outcomes | None, class_ids: list[int]) -> tuple[tuple[float, float] | None, ...]:
    """Per class: the 95 % interval (percent) of the seed-averaged accuracy on that class's test videos."""
    if outcomes is None or outcomes.multilabel:
        return tuple(None for _ in class_ids)
    correct = outcomes.correct(1)
    out = []
    for k in class_ids:
        mask = outcomes.labels == k
        est = accuracy_ci(correct[:, mask]).scaled(100) if mask.any() else None
        out.append((est.low, est.high) if est else None)
    return tuple(out)


def class_gains(cells: list[CellResult], scores: ScoresOf, top: int = 10) -> list[ClassGains]:
    """For each pair of gain_pairs whose runs all have scores: the `top` classes by gain (ties by class name)."""
    out = []
    for a, b in gain_pairs(cells):
        acc_a = per_class_accuracy(list(a.chosen["run_id"]), scores)
        acc_b = per_class_accuracy(list(b.chosen["run_id"]), scores)
        if acc_a is None or acc_b is None or acc_a.classes != acc_b.classes:
            continue
        names = acc_a.classes
        gain = acc_a.percent - acc_b.percent
        # A class without videos (NaN gain) goes last.
        order = sorted(range(len(names)), key=lambda i: (-np.nan_to_num(gain[i], nan=-np.inf), names[i]))[:top]
        got_a, got_b = outcomes_of(a.row.run_ids, scores), outcomes_of(b.row.run_ids, scores)
        tests = class_tests(got_a, got_b, order)
        out.append(
            ClassGains(
                a,
                b,
                [names[i] for i in order],
                acc_a.percent[order],
                acc_b.percent[order],
                gain[order],
                tests,
                class_intervals(got_a, order),
                class_intervals(got_b, order),
            )
        )
    return out


@dataclass(frozen=True)
class FamilyRow:
    """A synthetic-benchmark cell's test accuracy per class family (and "all"), mean ± std over its seeds."""

    dataset: str
    split: int
    stream: str
    arch: str
    T: int
    accuracy: dict[str, Stat]  # by family name (FAMILIES, then "all"), percent
    trials: int
    seeds: int
    run_ids: tuple[str, ...]
    command: str | None
    coverage: Coverage = Coverage()
    classes: str = ""  # the class subset ("" for all classes)


def family_rows(cells: list[CellResult], scores: ScoresOf) -> list[FamilyRow]:
    """A row per synthetic cell whose chosen runs all have scores of the benchmark's classes."""
    rows = []
    ordered = sorted(
        cells,
        key=lambda c: (
            c.row.dataset,
            c.row.classes,
            c.row.split,
            stream_rank(c.row.stream),
            arch_rank(c.row.arch),
            c.row.T,
            c.row.insertion,
        ),
    )
    for c in ordered:
        if c.row.dataset != "synthetic":
            continue
        per_run = family_accuracies(list(c.chosen["run_id"]), scores)
        if per_run is None:
            continue
        intervals = family_intervals(outcomes_of(list(c.chosen["run_id"]), scores))
        rows.append(
            FamilyRow(
                dataset=c.row.dataset,
                split=c.row.split,
                stream=c.row.stream,
                arch=c.row.arch,
                T=c.row.T,
                accuracy={f: _with(mean_std(values), intervals.get(f)) for f, values in per_run.items()},
                trials=c.row.trials,
                seeds=c.row.seeds,
                run_ids=c.row.run_ids,
                command=c.row.command,
                coverage=c.row.coverage,
                classes=c.row.classes,
            )
        )
    return rows


def _with(stat: Stat, interval: tuple[float, float] | None) -> Stat:
    return Stat(stat.mean, stat.std, *interval) if interval else stat


def family_intervals(outcomes: Outcomes | None) -> dict[str, tuple[float, float]]:
    """Per family (and "all"): the 95 % interval of the seed-averaged accuracy on its videos, in percent."""
    if outcomes is None or outcomes.multilabel:
        return {}
    correct = outcomes.correct(1)
    try:
        families = np.asarray([class_family(outcomes.classes[k]) for k in outcomes.labels], dtype=object)
    except (ValueError, IndexError):  # not the synthetic benchmark's classes
        return {}
    out = {"all": accuracy_ci(correct).scaled(100)}
    for family in FAMILIES:
        mask = families == family
        if mask.any():
            out[family] = accuracy_ci(correct[:, mask]).scaled(100)
    return {f: (e.low, e.high) for f, e in out.items()}


def family_accuracies(run_ids: list[str], scores: ScoresOf) -> dict[str, list[float]] | None:
    """Each run's accuracy per family (FAMILIES, then "all"); None unless every run has the benchmark's scores."""
    per_run: dict[str, list[float]] = {f: [] for f in (*FAMILIES, "all")}
    for run_id in run_ids:
        got = scores(run_id)
        if got is None:
            return None
        frame, classes = got
        if "label" not in frame:
            return None
        try:
            acc = family_accuracy(score_matrix(frame, classes), frame["label"].to_numpy(), classes)
        except ValueError:  # not the synthetic benchmark's classes
            return None
        for f in per_run:
            per_run[f].append(acc[f])
    return per_run


@dataclass(frozen=True)
class VideoTop5:
    """One test video of Fig. 4: the five most probable classes of each model, (class, probability) best first."""

    video_id: str
    true: str  # the true class
    a: list[tuple[str, float]]
    b: list[tuple[str, float]]


def softmax(x: np.ndarray) -> np.ndarray:
    """(N, K) logits -> (N, K) probabilities per row."""
    z = np.exp(x - x.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def _top(p: np.ndarray, i: int, classes: list[str], k: int) -> list[tuple[str, float]]:
    """The k most probable classes of video i (ties: the lower class id first)."""
    return [(classes[j], float(p[i, j])) for j in sorted(range(len(classes)), key=lambda j: (-p[i, j], j))[:k]]


def top5_videos(scores_a: Scores, scores_b: Scores, videos: int = 4) -> list[VideoTop5] | None:
    """A few test videos for Fig. 4; None unless both runs scored the same single-label videos and classes.

    First the videos model A gets right and B wrong (what the paper shows), one per true class while
    there are others to show, then the rest; by video id within each.
    """
    (frame_a, classes), (frame_b, classes_b) = scores_a, scores_b
    if "label" not in frame_a or classes != classes_b:
        return None
    fa = frame_a.sort_values("video_id").reset_index(drop=True)
    fb = frame_b.set_index("video_id").reindex(fa["video_id"]).reset_index()
    if fb["label"].isna().any():
        return None
    pa, pb = softmax(score_matrix(fa, classes)), softmax(score_matrix(fb, classes))
    labels = fa["label"].to_numpy()
    right_a, right_b = pa.argmax(1) == labels, pb.argmax(1) == labels
    wins = list(np.flatnonzero(right_a & ~right_b))
    rest = list(np.flatnonzero(~(right_a & ~right_b)))
    first_per_class = [i for n, i in enumerate(wins) if labels[i] not in labels[wins[:n]]]
    order = first_per_class + [i for i in wins if i not in first_per_class] + rest
    k = min(5, len(classes))
    return [
        VideoTop5(fa["video_id"][i], classes[labels[i]], _top(pa, i, classes, k), _top(pb, i, classes, k))
        for i in order[:videos]
    ]
