"""The report's figures (matplotlib, Agg, deterministic PNGs: no timestamp or version in the metadata).

Each function draws one figure from data the tables already chose, writes
it and returns its path; none reads MLflow itself. Figures are plain
`matplotlib.figure.Figure`s (no pyplot): nothing global to select or close.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from rlx.report.format import METRIC_LABEL, arch_label
from rlx.report.per_class import FamilyRow, VideoTop5
from rlx.report.rows import ResultRow

PNG_METADATA = {"Software": None}  # matplotlib writes its version otherwise: regenerated files would differ


def slug(*parts: Any) -> str:
    """A file name from parts: "-"-joined, anything but letters, digits and _.- replaced by "_"."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join(str(p) for p in parts if p not in ("", None)))


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=90, metadata=PNG_METADATA)
    return path


def class_gain_png(
    path: Path,
    title: str,
    classes: list[str],
    acc_a: np.ndarray,
    acc_b: np.ndarray,
    gain: np.ndarray,
    label_a: str,
    label_b: str,
) -> Path:
    """Fig. 3: gain in points per class (most improved at the top), with both accuracies annotated."""
    n = len(classes)
    fig = Figure(figsize=(8, 1.2 + 0.4 * n))
    ax = fig.subplots()
    y = np.arange(n)[::-1]
    ax.barh(y, gain, color=["#2a7ab9" if g >= 0 else "#c44e52" for g in gain])
    ax.set_yticks(y, classes, fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    for yi, g, a, b in zip(y, gain, acc_a, acc_b, strict=True):
        ax.text(g, yi, f"  {b:.0f} → {a:.0f}  ", va="center", ha="left" if g >= 0 else "right", fontsize=7)
    ax.set_xlabel(f"per-class test accuracy gain, {label_a} over {label_b} (points)")
    ax.set_title(title, fontsize=10)
    lo, hi = min(0.0, float(np.nanmin(gain))), max(0.0, float(np.nanmax(gain)))
    pad = 0.35 * max(hi - lo, 1.0)
    ax.set_xlim(lo - (pad if lo < 0 else 0), hi + pad)
    return _save(fig, path)


def top5_png(path: Path, title: str, videos: list[VideoTop5], label_a: str, label_b: str) -> Path:
    """Fig. 4: for each video, the top-5 classes (softmax of the logits) of two models; the true class in green."""
    fig = Figure(figsize=(10, 0.5 + 1.8 * len(videos)))
    axes = fig.subplots(len(videos), 2, squeeze=False)
    for row, video in enumerate(videos):
        for col, (label, top) in enumerate(((label_b, video.b), (label_a, video.a))):
            ax = axes[row][col]
            names = [n for n, _ in top][::-1]
            probs = [p for _, p in top][::-1]
            colours = ["#3a9a4a" if n == video.true else "#9aa4b0" for n in names]
            ax.barh(range(len(names)), probs, color=colours)
            ax.set_yticks(range(len(names)), names, fontsize=7)
            ax.set_xlim(0, 1)
            ax.tick_params(axis="x", labelsize=7)
            ax.set_title(f"{label}: {video.video_id}\ntrue: {video.true}", fontsize=8)
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def sweep_metric(rows: list[ResultRow]) -> str | None:
    """The metric to draw against T: test/top1 where any row has it, else test/mAP, else None."""
    for metric in ("test/top1", "test/mAP"):
        if any(not math.isnan(r.metrics.by_name()[metric].mean) for r in rows):
            return metric
    return None


def metric_vs_t_png(path: Path, rows: list[ResultRow], metric: str) -> Path:
    """Test metric against T, one line per dataset/split/stream/arch, error bars = std over seeds."""
    label = METRIC_LABEL[metric]
    stats = [r.metrics.by_name()[metric] for r in rows]
    with_std = any(not math.isnan(s.std) for s in stats)  # no error bars at all when every row has one seed
    lines: dict[tuple, list[int]] = {}  # (dataset, split, stream, arch as shown) -> indices of its rows
    for i, r in enumerate(rows):
        lines.setdefault((r.dataset, r.split, r.stream, arch_label(r.arch)), []).append(i)
    fig = Figure(figsize=(6.5, 4))
    ax = fig.subplots()
    for key in sorted(lines):
        line = sorted(lines[key], key=lambda i: rows[i].T)
        err = [0.0 if math.isnan(stats[i].std) else stats[i].std for i in line] if with_std else None
        ax.errorbar(
            [rows[i].T for i in line],
            [stats[i].mean for i in line],
            yerr=err,
            marker="o",
            capsize=3,
            label=f"{key[0]} s{key[1]} {key[2]} {key[3]}",
        )
    ax.set_xlabel("T (segments)")
    ax.set_ylabel(label)
    ax.set_xticks(sorted({r.T for r in rows}))
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    ax.set_title(f"{label} against the number of segments", fontsize=10)
    return _save(fig, path)


@dataclass(frozen=True)
class Curves:
    """One line of the learning curves: (epoch, value) of the validation metric and of the training loss."""

    label: str
    val: list[tuple[int, float]]
    loss: list[tuple[int, float]]


def learning_curves_png(path: Path, curves: list[Curves], val_metric: str) -> Path:
    """Left: validation metric per epoch; right: training loss per epoch; one line per (best) trial."""
    fig = Figure(figsize=(11, 4 + 0.25 * math.ceil(len(curves) / 3)))
    ax_val, ax_loss = fig.subplots(1, 2)
    for c in curves:
        if c.val:
            ax_val.plot(*zip(*c.val, strict=True), marker=".", label=c.label)
        if c.loss:
            ax_loss.plot(*zip(*c.loss, strict=True), marker=".", label=c.label)
    ax_val.set_ylabel(val_metric)
    ax_loss.set_ylabel("train/loss")
    for ax in (ax_val, ax_loss):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles, labels = ax_val.get_legend_handles_labels()
    if not labels:
        handles, labels = ax_loss.get_legend_handles_labels()
    # One legend below both panels: inside either it hides the curves.
    fig.legend(handles, labels, loc="lower center", ncol=min(3, max(len(labels), 1)), fontsize=7, frameon=False)
    fig.suptitle("learning curves of the best trial of each group and arch", fontsize=10)
    fig.tight_layout(rect=(0, 0.06 * math.ceil(len(labels) / 3) + 0.02, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90, metadata=PNG_METADATA)
    return path


def families_png(path: Path, rows: list[FamilyRow], families: tuple[str, ...]) -> Path:
    """Grouped bars: test accuracy per class family, one bar per arch (± std over seeds)."""
    fig = Figure(figsize=(7.5, 4))
    ax = fig.subplots()
    width = 0.8 / max(len(rows), 1)
    x = np.arange(len(families))
    for i, row in enumerate(rows):
        means = [row.accuracy[f].mean for f in families]
        stds = [row.accuracy[f].std for f in families]
        label = arch_label(row.arch) + ("" if row.stream == "spatial" else f" ({row.stream})")
        yerr = (
            None if all(math.isnan(v) for v in stds) else [0.0 if math.isnan(v) else v for v in stds]
        )  # one seed: none
        ax.bar(x + (i - (len(rows) - 1) / 2) * width, means, width, yerr=yerr, capsize=3, label=label)
    ax.set_xticks(x, families)
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title("accuracy per class family: what the relational branch adds", fontsize=10)
    return _save(fig, path)
