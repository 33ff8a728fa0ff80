"""Uncertainty of test metrics: bootstrap confidence intervals over test videos, and paired tests of two models.

Pure numpy (the tests check against scipy). Conventions, used by every report table:

- Intervals are 95 % (ALPHA = 0.05) percentile bootstrap intervals: the test videos are resampled with
  replacement RESAMPLES = 2000 times from a generator seeded with SEED = 0, the metric is recomputed on each
  resample, and the 2.5th / 97.5th percentiles (numpy's linear interpolation) are the bounds. The same seed
  gives the same resamples for every model with the same number of videos, so paired statistics resample
  both models' videos together.
- mAP (Charades) is recomputed on MAP_RESAMPLES = 200 resamples only: each one re-ranks every class.
- Several runs (seeds) of one model: each run is scored on the same videos, and the metric of the
  seed-averaged result (the mean over the seeds of each run's metric) is bootstrapped by resampling videos
  jointly for all seeds. The interval is the test-set sampling uncertainty of the seed mean; the spread
  over seeds is reported separately (the std, "±").
- Top-1 of two single runs: McNemar's test on the discordant videos (b: only A right, c: only B right):
  the exact two-sided binomial test (b of b + c at p = 1/2) when b + c < EXACT_BELOW, else the chi-square
  test with continuity correction, (|b - c| - 1)^2 / (b + c) on 1 degree of freedom.
- Any other comparison (mean class accuracy, mAP, top-1 of seed means): the paired bootstrap of the
  difference A - B; p = min(1, 2 · min(P*(d <= 0), P*(d >= 0))) with the +1 correction
  ((1 + count) / (1 + RESAMPLES)), the p-value of inverting the percentile interval.
- A mean over independent test sets (the official splits): each split's videos are resampled on their
  own (seed SEED + the split's position), the replicates averaged across splits, then the percentile
  interval (`mean_over_splits`).
- Every comparison reports the difference, its paired percentile bootstrap interval and the p-value; a
  difference with p >= ALPHA is "within noise".
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rlx.eval.metrics import charades_map

ALPHA = 0.05  # two-sided: 95 % intervals, and a difference with p >= ALPHA is within noise
RESAMPLES = 2000
MAP_RESAMPLES = 200  # mAP re-ranks every class on each resample (~0.05 s on Charades): fewer resamples
SEED = 0
EXACT_BELOW = 25  # McNemar: the exact binomial test below this many discordant videos, chi-square from it on
METHOD_CI = f"percentile bootstrap over test videos, {RESAMPLES} resamples, seed {SEED}"

Statistic = Callable[[np.ndarray], float]  # video indices (a resample) -> the metric on those videos


@dataclass(frozen=True)
class Estimate:
    """A metric and its 95 % interval (fractions, or whatever unit the statistic has)."""

    value: float
    low: float
    high: float

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high

    def scaled(self, factor: float) -> Estimate:
        return Estimate(self.value * factor, self.low * factor, self.high * factor)


@dataclass(frozen=True)
class Comparison:
    """A - B on the same test videos: the difference, its 95 % interval, the p-value and the test used."""

    difference: float
    low: float
    high: float
    p_value: float
    test: str  # "McNemar exact" | "McNemar chi-square" | "paired bootstrap"
    discordant: tuple[int, int] | None = None  # McNemar: (only A right, only B right)

    @property
    def within_noise(self) -> bool:
        return not self.p_value < ALPHA

    def scaled(self, factor: float) -> Comparison:
        return Comparison(
            self.difference * factor, self.low * factor, self.high * factor, self.p_value, self.test, self.discordant
        )


@functools.lru_cache(maxsize=4)
def resample_indices(n: int, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """(resamples, n) int video indices drawn with replacement; the same for the same (n, resamples, seed).

    Cached (read-only): a report draws them once per test-set size, not once per row and metric.
    """
    if n < 1:
        raise ValueError("no videos to resample (n = 0)")
    idx = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    idx.flags.writeable = False
    return idx


def percentile_interval(values: np.ndarray, alpha: float = ALPHA) -> tuple[float, float]:
    """The alpha/2 and 1 - alpha/2 percentiles of the bootstrap values (NaN values left out)."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if not len(values):
        return math.nan, math.nan
    low, high = np.percentile(values, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(low), float(high)


def bootstrap(statistic: Statistic, n: int, resamples: int = RESAMPLES, seed: int = SEED) -> Estimate:
    """The statistic on all n videos and its percentile interval over resampled videos (any statistic)."""
    idx = resample_indices(n, resamples, seed)
    values = np.array([statistic(i) for i in idx])
    return Estimate(float(statistic(np.arange(n))), *percentile_interval(values))


def _mean_correct(correct: np.ndarray) -> np.ndarray:
    """(S, N) or (N,) per-video correctness of S runs -> (N,) fraction of the runs right on each video."""
    correct = np.asarray(correct, dtype=float)
    if correct.ndim == 1:
        return correct
    if correct.ndim != 2 or not correct.shape[0]:
        raise ValueError(f"correctness must be (N,) or (S, N) with S >= 1, got shape {correct.shape}")
    return correct.mean(axis=0)


@dataclass(frozen=True)
class Replicates:
    """A metric on all videos and its values on each bootstrap resample (for intervals of derived statistics)."""

    value: float
    values: np.ndarray  # (resamples,)

    def estimate(self) -> Estimate:
        return Estimate(self.value, *percentile_interval(self.values))


def mean_over_splits(parts: Sequence[Replicates]) -> Estimate:
    """The mean of independent estimates (one per split) and the interval of the mean of their replicates."""
    if not parts:
        raise ValueError("no splits to average")
    values = np.mean(np.stack([p.values for p in parts]), axis=0)
    return Estimate(float(np.mean([p.value for p in parts])), *percentile_interval(values))


def accuracy_replicates(correct: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED) -> Replicates:
    c = _mean_correct(correct)
    idx = resample_indices(len(c), resamples, seed)
    return Replicates(float(c.mean()), c[idx].mean(axis=1))


def accuracy_ci(correct: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED) -> Estimate:
    """Accuracy (top-1 or top-k) of per-video correctness (N,), or of the seed mean of (S, N), with its interval."""
    return accuracy_replicates(correct, resamples, seed).estimate()


def _class_means(c: np.ndarray, labels: np.ndarray, idx: np.ndarray, k: int) -> np.ndarray:
    """(R,) mean over the classes present in each resample of the per-class mean correctness."""
    r = len(idx)
    flat = (labels[idx] + k * np.arange(r)[:, None]).ravel()
    right = np.bincount(flat, weights=c[idx].ravel(), minlength=r * k).reshape(r, k)
    total = np.bincount(flat, minlength=r * k).reshape(r, k).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nanmean(np.where(total > 0, right / total, np.nan), axis=1)


def mean_class_accuracy_ci(
    correct: np.ndarray, labels: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED
) -> Estimate:
    """Mean class accuracy and its interval (see `mean_class_accuracy_replicates`)."""
    return mean_class_accuracy_replicates(correct, labels, resamples, seed).estimate()


def mean_class_accuracy_replicates(
    correct: np.ndarray, labels: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED
) -> Replicates:
    """Mean class accuracy (mean over the classes present of per-class top-1 recall) and its interval.

    `correct` (N,) or (S, N) top-1 correctness, `labels` (N,) class ids. Each resample recomputes the
    per-class recall on the resampled videos (a class absent from a resample is left out of its mean).
    """
    c = _mean_correct(correct)
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != c.shape:
        raise ValueError(f"labels {labels.shape} do not match {c.shape} videos")
    k = int(labels.max()) + 1
    value = float(_class_means(c, labels, np.arange(len(c))[None, :], k)[0])
    idx = resample_indices(len(c), resamples, seed)
    return Replicates(value, _class_means(c, labels, idx, k))


def _seed_map(scores: Sequence[np.ndarray], labels: np.ndarray) -> Statistic:
    """The mean over the runs of Charades mAP on the given videos (NaN when none has a label)."""

    def statistic(i: np.ndarray) -> float:
        if not labels[i].any():
            return math.nan
        return float(np.mean([charades_map(s[i], labels[i]).mean_ap for s in scores]))

    return statistic


def map_ci(
    scores: Sequence[np.ndarray], labels: np.ndarray, resamples: int = MAP_RESAMPLES, seed: int = SEED
) -> Estimate:
    """mAP (multi-label, Charades) of S runs' (N, K) scores, averaged over the runs, with its interval."""
    return map_replicates(scores, labels, resamples, seed).estimate()


def map_replicates(
    scores: Sequence[np.ndarray], labels: np.ndarray, resamples: int = MAP_RESAMPLES, seed: int = SEED
) -> Replicates:
    labels = np.asarray(labels)
    statistic = _seed_map(scores, labels)
    idx = resample_indices(len(labels), resamples, seed)
    return Replicates(statistic(np.arange(len(labels))), np.array([statistic(i) for i in idx]))


# ---------------------------------------------------------------- paired tests
def binomial_two_sided(k: int, n: int) -> float:
    """Exact two-sided p of k successes in n trials at p = 1/2: min(1, 2 · P(X <= min(k, n - k)))."""
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(k, n - k) + 1)) / 2**n
    return min(1.0, 2 * tail)


def mcnemar_p(b: int, c: int) -> tuple[float, str]:
    """McNemar's p-value from the discordant counts and the test used (exact below EXACT_BELOW, else chi-square)."""
    n = b + c
    if n < EXACT_BELOW:
        return binomial_two_sided(b, n), "McNemar exact"
    stat = (abs(b - c) - 1) ** 2 / n
    return math.erfc(math.sqrt(stat / 2)), "McNemar chi-square"  # chi-square(1) survival function


def paired_bootstrap(
    stat_a: Statistic, stat_b: Statistic, n: int, resamples: int = RESAMPLES, seed: int = SEED
) -> Comparison:
    """A - B of two statistics on the same n videos, resampled together; percentile interval and p-value."""
    idx = resample_indices(n, resamples, seed)
    diffs = np.array([stat_a(i) - stat_b(i) for i in idx])
    full = np.arange(n)
    return _bootstrap_comparison(float(stat_a(full) - stat_b(full)), diffs)


def bootstrap_p(diffs: np.ndarray) -> float:
    """Two-sided p of a zero difference: min(1, 2 · min((1 + #(d <= 0)), (1 + #(d >= 0))) / (1 + R))."""
    diffs = np.asarray(diffs, dtype=float)
    diffs = diffs[~np.isnan(diffs)]
    r = len(diffs)
    below, above = int((diffs <= 0).sum()), int((diffs >= 0).sum())
    return min(1.0, 2 * min(1 + below, 1 + above) / (1 + r))


def _bootstrap_comparison(difference: float, diffs: np.ndarray) -> Comparison:
    return Comparison(difference, *percentile_interval(diffs), bootstrap_p(diffs), "paired bootstrap")


def compare_accuracy(
    correct_a: np.ndarray, correct_b: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED
) -> Comparison:
    """Accuracy of A - B on the same videos (correctness (N,) per model, or (S, N) for several seeds).

    Two single runs (1-D, or one row each): McNemar's p; the interval is the paired bootstrap's either way.
    Seed means: the paired bootstrap's p.
    """
    a, b = np.asarray(correct_a, dtype=float), np.asarray(correct_b, dtype=float)
    single = (a.ndim == 1 or a.shape[0] == 1) and (b.ndim == 1 or b.shape[0] == 1)
    ca, cb = _mean_correct(a), _mean_correct(b)
    if ca.shape != cb.shape:
        raise ValueError(f"the models were scored on different numbers of videos: {ca.shape} vs {cb.shape}")
    d = ca - cb
    idx = resample_indices(len(d), resamples, seed)
    boot = _bootstrap_comparison(float(d.mean()), d[idx].mean(axis=1))
    if not single:
        return boot
    only_a, only_b = int(((ca == 1) & (cb == 0)).sum()), int(((ca == 0) & (cb == 1)).sum())
    p, test = mcnemar_p(only_a, only_b)
    return Comparison(boot.difference, boot.low, boot.high, p, test, (only_a, only_b))


def compare_mean_class_accuracy(
    correct_a: np.ndarray, correct_b: np.ndarray, labels: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED
) -> Comparison:
    """Mean class accuracy of A - B on the same videos: the paired bootstrap."""
    ca, cb = _mean_correct(correct_a), _mean_correct(correct_b)
    labels = np.asarray(labels, dtype=np.int64)
    if not ca.shape == cb.shape == labels.shape:
        raise ValueError(f"shapes differ: A {ca.shape}, B {cb.shape}, labels {labels.shape}")
    k = int(labels.max()) + 1
    idx = resample_indices(len(labels), resamples, seed)
    full = np.arange(len(labels))[None, :]
    diffs = _class_means(ca, labels, idx, k) - _class_means(cb, labels, idx, k)
    value = float(_class_means(ca, labels, full, k)[0] - _class_means(cb, labels, full, k)[0])
    return _bootstrap_comparison(value, diffs)


def compare_map(
    scores_a: Sequence[np.ndarray],
    scores_b: Sequence[np.ndarray],
    labels: np.ndarray,
    resamples: int = MAP_RESAMPLES,
    seed: int = SEED,
) -> Comparison:
    """mAP of A - B (each the mean over its runs) on the same multi-label videos: the paired bootstrap."""
    labels = np.asarray(labels)
    return paired_bootstrap(_seed_map(scores_a, labels), _seed_map(scores_b, labels), len(labels), resamples, seed)
