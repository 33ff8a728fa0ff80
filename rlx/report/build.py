"""Experiment -> sections (tables and figures) -> files under the output folder.

The output is a function of the runs alone: rows and figures are sorted, the
PNGs carry no timestamp, and the only run-dependent text besides the numbers
is the run ids and one "generated from N runs" line.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from rlx.eval.families import FAMILIES
from rlx.report import plots, tables
from rlx.report.coverage import EXCLUDED, INCOMPLETE_MARK, run_coverage
from rlx.report.ensembles import seed_pairs
from rlx.report.format import ARCH_LABEL, METRIC_LABEL, Table, arch_label
from rlx.report.load import Experiment
from rlx.report.per_class import top5_videos
from rlx.report.refit import protocol_text
from rlx.report.selection import CellResult, choose


@dataclass
class Section:
    title: str
    caption: str = ""
    table: Table | None = None
    images: list[tuple[Path, str]] = field(default_factory=list)  # (path relative to the report, alt text)


@dataclass
class Report:
    title: str
    intro: list[str]
    sections: list[Section]
    protocol: str = ""  # which protocol the numbers compared with the paper come from (rlx.report.refit)


def subset_tag(classes: str) -> str:
    """A short, stable file-name part for a class subset ("" for all classes): "classes-<8 hex of its sha1>"."""
    return f"classes-{hashlib.sha1(classes.encode()).hexdigest()[:8]}" if classes else ""


def subset_title(classes: str) -> str:
    """ " (classes [...])" in a figure title; "" for all classes."""
    return f" (classes {classes})" if classes else ""


def build_report(exp: Experiment, out: Path) -> Report:
    """Compute every table and figure the experiment supports; write tables/*.csv and plots/*.png."""
    for sub in ("tables", "plots"):  # a regenerated report holds only what this run of the code wrote
        shutil.rmtree(out / sub, ignore_errors=True)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    (out / "plots").mkdir(parents=True, exist_ok=True)
    sections: list[Section] = []

    arch, cells = tables.arch_table(exp)
    sections.append(Section(arch.title, arch.caption, arch))
    comparisons = tables.comparison_table(exp, cells)
    if comparisons is not None:
        sections.append(Section(comparisons.title, comparisons.caption, comparisons))
    refits = tables.refit_table(exp)
    if refits is not None:
        sections.append(Section(refits.title, refits.caption, refits))

    families, family_rows = tables.family_table(exp, cells)
    if families is not None:
        png = plots.families_png(out / "plots" / "families.png", family_rows, FAMILIES)
        sections.append(
            Section(
                families.title,
                families.caption,
                families,
                [(png.relative_to(out), "test accuracy per class family and arch")],
            )
        )

    gains, figures = tables.gain_table(exp, cells)
    if gains is not None:
        images = []
        for f in figures:
            a, b = f.a.row, f.b.row
            name = plots.slug(
                "class_gain", a.dataset, subset_tag(a.classes), f"split{a.split}", a.stream, a.arch, "over", b.arch
            )
            title = (
                f"{a.dataset}{subset_title(a.classes)} split {a.split} {a.stream}: "
                f"{ARCH_LABEL[a.arch]} over {ARCH_LABEL[b.arch]}"
            )
            png = plots.class_gain_png(
                out / "plots" / f"{name}.png",
                title,
                f.classes,
                f.acc_a,
                f.acc_b,
                f.gain,
                ARCH_LABEL[a.arch],
                ARCH_LABEL[b.arch],
            )
            images.append((png.relative_to(out), title))
        sections.append(Section(gains.title, gains.caption, gains, images))
        top5 = [_top5(exp, f.a, f.b, out) for f in figures]
        top5 = [t for t in top5 if t is not None]
        if top5:
            sections.append(
                Section(
                    "Top-5 predictions of two models (Figure 4)",
                    "For a few test videos (first those model A gets right and model B wrong, by video "
                    "id): the five most probable classes (softmax of the stored test logits) of each "
                    "model; the true class in green.",
                    None,
                    top5,
                )
            )

    for key in ("T", "insertion"):
        sweep = tables.sweep_table(exp, key)
        if sweep is None:
            continue
        table, rows = sweep
        images = []
        metric = plots.sweep_metric(rows) if key == "T" else None
        if metric:
            png = plots.metric_vs_t_png(out / "plots" / "metric_vs_T.png", rows, metric)
            images.append((png.relative_to(out), f"{METRIC_LABEL[metric]} against T"))
        sections.append(Section(table.title, table.caption, table, images))

    for table in (tables.splits_table(exp), tables.fusion_table(exp)):
        if table is not None:
            sections.append(Section(table.title, table.caption, table))

    curves = _curves(exp)
    if curves:
        val_metric = tables.experiment_selection(exp).metric
        png = plots.learning_curves_png(out / "plots" / "learning_curves.png", curves, val_metric)
        sections.append(
            Section(
                "Learning curves",
                f"{val_metric} and train/loss per epoch of the best trial (by "
                f"{val_metric}) of each dataset / split / stream / arch.",
                None,
                [(png.relative_to(out), "learning curves")],
            )
        )

    searched = tables.experiment_searched_keys(exp)
    leaderboard = tables.leaderboard_table(exp, searched)
    sections.append(Section(leaderboard.title, leaderboard.caption, leaderboard))
    boundary = tables.boundary_table(exp, searched)
    if boundary is not None:
        sections.append(Section(boundary.title, boundary.caption, boundary))

    for s in sections:
        if s.table is not None:
            s.table.frame.to_csv(out / "tables" / f"{s.table.slug}.csv", index=False, float_format="%.4f")
    protocol = protocol_text(exp.runs, tables.experiment_selection(exp))
    return Report(f"Report: {exp.name}", [*_intro(exp), coverage_line(exp, sections)], sections, protocol)


def coverage_line(exp: Experiment, sections: list[Section]) -> str:
    """How many table rows have an incomplete test set (and of how many runs), and how many cannot tell."""
    shown = [s.table for s in sections if s.table is not None and s.table.coverage]
    rows = sum(len(t.coverage) for t in shown)
    incomplete = sum(t.count("incomplete") for t in shown)
    unknown = sum(t.count("unknown") for t in shown)
    runs = [run_coverage(r) for _, r in exp.runs.iterrows()]
    runs_out = sum(c.incomplete for c in runs)
    runs_unknown = sum(c.status == "unknown" for c in runs)
    text = (
        f"Test sets: {incomplete} of {rows} table rows have an incomplete test set (marked {INCOMPLETE_MARK}n, "
        f"with a footnote giving the test videos covered of the total); {runs_out} of {len(exp.runs)} runs left "
        "test videos out (missing, corrupt, too short or failed to decode)."
    )
    if unknown or runs_unknown:
        text += (
            f" Unknown for {unknown} table rows: {runs_unknown} of {len(exp.runs)} runs did not log `{EXCLUDED}` "
            "(runs from before it was logged); their rows are not marked, nor known complete (`test set`: unknown)."
        )
    return text


def _intro(exp: Experiment) -> list[str]:
    kinds = exp.runs["kind"].value_counts()
    parts = [
        f"{kinds.get(k, 0)} {label}"
        for k, label in (
            ("trial", "search trials"),
            ("run", "single runs"),
            ("fusion", "two-stream fusion runs"),
            ("refit", "refits on the whole training split"),
            ("fusion_refit", "fusions of refits"),
        )
        if kinds.get(k, 0)
    ]
    lines = []
    if exp.space is not None and exp.space.description:
        lines.append(exp.space.description)
    lines.append(
        f"Generated from {len(exp.runs)} finished runs ({', '.join(parts)}) of the MLflow experiment "
        f"`{exp.name}`" + (f"; {exp.unfinished} unfinished run(s) left out." if exp.unfinished else ".")
    )
    if exp.search_command:
        lines.append(f"Search: `{exp.search_command}`.")
    lines.append(
        f"Regenerate: `python -m rlx.report --experiment {exp.name}` (MLflow store: `$MLFLOW_TRACKING_URI`, "
        "else `./mlruns.db`). Accuracies are percentages; `±` is the std over seeds (over splits in the splits "
        "table), `[low, high]` the 95 % bootstrap interval over test videos, `p` a paired test's p-value "
        "(within noise when p ≥ 0.05; see reports/README.md); run ids are shortened to 8 characters here and "
        "full in `tables/*.csv`."
    )
    return lines


def _curves(exp: Experiment, limit: int = 8) -> list[plots.Curves]:
    sel = tables.experiment_selection(exp)
    results = exp.results
    if not sel.metric.startswith("val/") or not len(results):
        return []
    out = []
    for (dataset, classes, split, stream, arch), cell in results.groupby(
        ["dataset", "classes", "split", "stream", "arch"], sort=True
    ):
        best = choose(cell, sel).iloc[0]
        out.append(
            plots.Curves(
                f"{dataset}{subset_title(classes)} split {split} {stream} {arch_label(arch)}",
                exp.history(best["run_id"], sel.metric),
                exp.history(best["run_id"], "train/loss"),
            )
        )
        if len(out) == limit:
            break
    return [c for c in out if c.val or c.loss]


def _top5(exp: Experiment, a: CellResult, b: CellResult, out: Path) -> tuple[Path, str] | None:
    """Fig. 4 for the first seed-paired runs of two cells."""
    run_a, run_b = seed_pairs(a.chosen, b.chosen)[0]
    got_a, got_b = exp.scores(run_a), exp.scores(run_b)
    videos = top5_videos(got_a, got_b) if got_a is not None and got_b is not None else None
    if not videos:
        return None
    la, lb = ARCH_LABEL[a.row.arch], ARCH_LABEL[b.row.arch]
    r = a.row
    name = plots.slug("top5", r.dataset, subset_tag(r.classes), f"split{r.split}", r.stream, r.arch, "vs", b.row.arch)
    title = f"{r.dataset}{subset_title(r.classes)} split {r.split} {r.stream}: top-5 of {lb} (left) and {la} (right)"
    png = plots.top5_png(out / "plots" / f"{name}.png", title, videos, la, lb)
    return png.relative_to(out), title
