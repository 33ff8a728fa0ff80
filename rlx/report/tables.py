"""The report's tables, built from an `Experiment` (only what it contains).

Every table is a `Table`: a DataFrame with the numbers as written to
`tables/<slug>.csv` (percentages for accuracies, full run ids) and a
display form for Markdown and HTML ("63.6 ± 2.1", short run ids).

How a cell is computed (rows of the stream tables): the runs of the cell are
grouped by configuration (every param but `train.seed`); the configuration
with the best mean validation metric (the search's metric and mode) is
chosen — nuisance hyperparameters are optimised over, never averaged — and
its runs (seeds) give mean ± std. `trials` counts every run in the cell,
`seeds` the runs behind the number.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rlx.report.load import Experiment, SearchedKey, as_number
from rlx.report.paper import NO_RLSTM, PAPER_FUSION_WEIGHT_RGB, STREAMS, paper_value

ARCH_ORDER = ("tsn", "local", "nonlocal", "two_branch", "tsn+nonlocal", "tsn+two_branch")
ARCH_LABEL = {"tsn": "TSN", "local": "local only", "nonlocal": "non-local only (R-LSTM)",
              "two_branch": "two-branch", "tsn+nonlocal": "TSN + R-LSTM", "tsn+two_branch": "TSN + two-branch"}
SPLIT_DATASETS = {"ucf101": "UCF-101", "hmdb51": "HMDB-51", "charades": "Charades"}
DEFAULT_T, DEFAULT_INSERT = 8, "conv5_2"  # the paper's, where a table does not vary them
TEST_METRICS = (("test/top1", "test top-1 (%)"), ("test/mAP", "test mAP (%)"), ("test/top5", "test top-5 (%)"),
                ("test/mean_class_acc", "mean class acc (%)"))
ENSEMBLE_PARTNERS = ("nonlocal", "two_branch")  # TSN + each of these, averaged logits
GAIN_PAIRS = (("two_branch", "tsn"), ("two_branch", "local"), ("nonlocal", "tsn"), ("nonlocal", "local"),
              ("two_branch", "nonlocal"))
RUN_COLUMNS = {"runs", "run", "best run", "rgb run", "flow run", "fusion run", "runs A", "runs B"}
STD = " ±"  # a column "<name> ±" holds the std of column "<name>"


@dataclass(frozen=True)
class Table:
    slug: str  # tables/<slug>.csv
    title: str
    caption: str
    frame: pd.DataFrame

    def display(self) -> pd.DataFrame:
        """Strings for Markdown/HTML: mean ± std merged, percentages to 1 decimal, run ids shortened."""
        out = {}
        for col in self.frame.columns:
            if col.endswith(STD):
                continue
            values = self.frame[col]
            std = self.frame.get(col + STD)
            out[col] = [_cell(col, v, None if std is None else std.iloc[i]) for i, v in enumerate(values)]
        return pd.DataFrame(out, columns=list(out))


def _cell(col: str, value, std) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if col in RUN_COLUMNS:
        return " ".join(v[:8] for v in str(value).split())
    if isinstance(value, (float, np.floating)):
        text = f"{value:.1f}" if "(%)" in col or "points" in col else f"{value:.4g}"
        if std is not None and not (isinstance(std, float) and math.isnan(std)):
            text += f" ± {std:.1f}" if "(%)" in col or "points" in col else f" ± {std:.3g}"
        return text
    return str(value)


# ---------------------------------------------------------------- helpers on the runs frame
def selection(exp: Experiment) -> tuple[str, str]:
    """(validation metric, mode) that picks the best trial: the search's, else val/top1 or val/mAP."""
    space = exp.space
    cols = set(exp.runs.columns)
    if space and f"metric:{space.metric}" in cols:
        return space.metric, space.mode
    for metric in ("val/top1", "val/mAP"):
        if f"metric:{metric}" in cols:
            return metric, "min" if metric.endswith("loss") else "max"
    return "test/top1", "max"


def _value(frame: pd.DataFrame, metric: str) -> pd.Series:
    col = f"metric:{metric}"
    return frame[col].astype(float) if col in frame else pd.Series(np.nan, index=frame.index)


def _config_keys(frame: pd.DataFrame) -> list[str]:
    return sorted(c for c in frame.columns if c.startswith("param:") and c != "param:train.seed")


def _config_id(frame: pd.DataFrame) -> pd.Series:
    keys = _config_keys(frame)
    return frame[keys].fillna("").astype(str).apply(lambda r: json.dumps(list(r), separators=(",", ":")), axis=1) \
        if keys else pd.Series("", index=frame.index)


def choose(cell: pd.DataFrame, metric: str, mode: str) -> pd.DataFrame:
    """The runs (seeds) of the cell's configuration with the best mean validation metric."""
    ids = _config_id(cell)
    sign = 1.0 if mode == "max" else -1.0

    def rank(cid: str) -> tuple[float, str]:  # ties go to the lowest run id, as in the leaderboard
        score = sign * _value(cell[ids == cid], metric).mean()
        return (math.inf if math.isnan(score) else -score, cell[ids == cid]["run_id"].min())

    best = min(set(ids), key=rank)
    return cell[ids == best].sort_values(["seed", "run_id"])


def _varying(cell: pd.DataFrame, chosen: pd.DataFrame) -> str:
    """The chosen configuration's values of the params that vary within the cell (e.g. nuisance ones)."""
    parts = []
    for key in _config_keys(cell):
        if cell[key].fillna("").nunique() > 1:
            parts.append(f"{key.removeprefix('param:')}={chosen[key].iloc[0]}")
    return ", ".join(parts)


def _mean_std(values: list[float]) -> tuple[float, float]:
    arr = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if not len(arr):
        return math.nan, math.nan
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else math.nan


def _metric_columns(chosen: pd.DataFrame) -> dict[str, float]:
    out = {}
    for metric, label in TEST_METRICS:
        mean, std = _mean_std(list(100 * _value(chosen, metric)))
        out[label], out[label + STD] = mean, std
    return out


def _commands(frame: pd.DataFrame) -> str | None:
    """The distinct commands behind the runs (None for runs that recorded none: shown as "–")."""
    return " ; ".join(sorted(set(frame["command"]) - {""})) or None


def _hold(frame: pd.DataFrame, by: list[str], key: str, preferred) -> pd.DataFrame:
    """Within each subset of `by`, keep the rows at `preferred` for `key` when that value is present."""
    parts = []
    for _, sub in frame.groupby(by, sort=True):
        parts.append(sub[sub[key] == preferred] if (sub[key] == preferred).any() else sub)
    return pd.concat(parts) if parts else frame


def _arch_rank(arch: str) -> int:
    return ARCH_ORDER.index(arch) if arch in ARCH_ORDER else len(ARCH_ORDER)


def _sort_rows(rows: list[dict], keys: list[str]) -> list[dict]:
    def key(row):
        out = []
        for k in keys:
            v = row.get(k)
            out.append(STREAMS.index(v) if k == "stream" and v in STREAMS else _arch_rank(v) if k == "arch" else v)
        return tuple(out)

    return sorted(rows, key=key)


def _primary(dataset_rows: pd.DataFrame) -> str:
    return "mAP" if "metric:test/mAP" in dataset_rows and dataset_rows["metric:test/mAP"].notna().any() else "top1"


def _frame(rows: list[dict]) -> pd.DataFrame:
    """Rows -> DataFrame without all-empty columns (a metric no row has is left out)."""
    frame = pd.DataFrame(rows)
    keep = [c for c in frame.columns if not frame[c].isna().all()]
    return frame[keep].reset_index(drop=True)


# ---------------------------------------------------------------- cells and ensembles
ROW_KEYS = ["dataset", "split", "stream", "arch", "T", "insertion"]


@dataclass
class CellResult:
    row: dict
    chosen: pd.DataFrame = field(repr=False)


def cell_rows(exp: Experiment, frame: pd.DataFrame, keys: list[str] = ROW_KEYS) -> list[CellResult]:
    """One row per distinct `keys` value: the chosen configuration's mean ± std, trials, runs, command."""
    metric, mode = selection(exp)
    out = []
    for values, cell in frame.groupby(keys, sort=True):
        chosen = choose(cell, metric, mode)
        row = dict(zip(keys, values))
        row.update(_metric_columns(chosen))
        if row["stream"] == "two-stream":
            weights = sorted({f"{w:g}" for w in _value(chosen, "fusion/weight_rgb").dropna()})
            row["RGB weight"] = f"{', '.join(weights)} (chosen on val)" if weights else None
        row.update({"trials": len(cell), "seeds": len(chosen), "chosen": _varying(cell, chosen) or None,
                    "runs": " ".join(chosen["run_id"]), "command": _commands(chosen)})
        out.append(CellResult(row, chosen))
    return out


def _with_paper(row: dict, prefer: tuple[str, ...]) -> dict:
    metric = "mAP" if not _isnan(row.get("test mAP (%)")) else "top1"
    found = paper_value(row["dataset"], row["split"], row["stream"], row["arch"], row.get("T"), row.get("insertion"),
                        metric, prefer)
    row["paper (%)"] = found.value if found else None
    row["paper source"] = found.table if found else None
    return row


def _isnan(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def ensemble_rows(exp: Experiment, cells: list[CellResult]) -> list[dict]:
    """TSN + R-LSTM (and TSN + two-branch): equal-weight average of the two models' stored test logits."""
    from rlx.eval.fusion import FusionError, align, fused_test_metrics

    by_key = {tuple(c.row[k] for k in ROW_KEYS): c for c in cells}
    out = []
    for key, tsn in sorted(by_key.items(), key=lambda kv: str(kv[0])):
        if key[3] != "tsn":
            continue
        for partner in ENSEMBLE_PARTNERS:
            # TSN has no insertion point: pair it with the partner at any (held) insertion of the same T.
            other = next((c for k, c in sorted(by_key.items(), key=lambda kv: str(kv[0]))
                          if k[:3] == key[:3] and k[3] == partner and k[4] == key[4]), None)
            if other is None:
                continue
            pairs = _seed_pairs(tsn.chosen, other.chosen)
            results = []
            for a, b in pairs:
                sa, sb = exp.scores(a), exp.scores(b)
                if sa is None or sb is None:
                    continue
                try:
                    test = align(sa[0], sb[0], sa[1], sb[1], "test")
                except FusionError:
                    continue
                results.append(fused_test_metrics(test, 0.5))
            if not results:
                continue
            row = {k: v for k, v in zip(ROW_KEYS, key)}
            row.update({"arch": f"tsn+{partner}", "insertion": other.row["insertion"]})
            for metric, label in TEST_METRICS:
                row[label], row[label + STD] = _mean_std([100 * r[metric] for r in results if metric in r])
            if row["stream"] == "two-stream":
                row["RGB weight"] = "per model: " + "; ".join(
                    f"{arch} {c.row.get('RGB weight') or '?'}" for arch, c in (("tsn", tsn), (partner, other)))
            row.update({"trials": tsn.row["trials"] + other.row["trials"], "seeds": len(results),
                        "chosen": "equal-weight average of the two models' test logits",
                        "runs": " ".join(r for pair in pairs for r in pair),
                        "command": _commands(pd.concat([tsn.chosen, other.chosen]))})
            out.append(row)
    return out


def _seed_pairs(a: pd.DataFrame, b: pd.DataFrame) -> list[tuple[str, str]]:
    """Runs of two models paired by seed; without a common seed, the first (best) run of each."""
    common = sorted(set(a["seed"]) & set(b["seed"]))
    if common:
        return [(a[a["seed"] == s]["run_id"].iloc[0], b[b["seed"] == s]["run_id"].iloc[0]) for s in common]
    return [(a["run_id"].iloc[0], b["run_id"].iloc[0])]


# ---------------------------------------------------------------- the tables
def _stream_table(rows: list[dict], prefer: tuple[str, ...]) -> pd.DataFrame:
    rows = [_with_paper(dict(r), prefer) for r in rows]
    for r in rows:
        if r["arch"] in NO_RLSTM:
            r["insertion"] = "–"
        r["arch"] = ARCH_LABEL.get(r["arch"], r["arch"])
    frame = _frame(rows)
    # The paper's number right after ours; traceability (runs, command) last.
    first = [c for c in frame.columns if c in ROW_KEYS or c.startswith(("test top-1", "test mAP"))]
    last = [c for c in ("trials", "seeds", "chosen", "runs", "command") if c in frame.columns]
    paper = [c for c in ("paper (%)", "paper source") if c in frame.columns]
    middle = [c for c in frame.columns if c not in first + last + paper]
    return frame[first + paper + middle + last]


def arch_table(exp: Experiment) -> tuple[Table, list[CellResult]] | None:
    frame = exp.runs
    held = _hold(_hold(frame, ["dataset", "split", "stream", "arch"], "T", DEFAULT_T),
                 ["dataset", "split", "stream", "arch"], "insertion", DEFAULT_INSERT)
    cells = cell_rows(exp, held)
    rows = _sort_rows([c.row for c in cells] + ensemble_rows(exp, cells), ROW_KEYS)
    caption = (f"Tables 2 and 4 of the paper: architecture × stream, at T = {DEFAULT_T} and the R-LSTM after "
               f"{DEFAULT_INSERT} where the experiment has them. Two-stream rows are fusion runs: the RGB weight was "
               "chosen on the validation hold-out. TSN + R-LSTM / TSN + two-branch: the equal-weight average of the "
               "two models' stored test logits (paired by seed).")
    return Table("architectures", "Architectures × streams (Tables 2 and 4)", caption,
                 _stream_table(rows, ("Table 2", "Table 4"))), cells


def sweep_table(exp: Experiment, key: str) -> Table | None:
    """Table 3 (key T) or Table 5 (key insertion): rows where the experiment varies that key."""
    other, preferred = ("insertion", DEFAULT_INSERT) if key == "T" else ("T", DEFAULT_T)
    subset = ["dataset", "split", "stream", "arch"]
    frame = exp.runs if key == "T" else exp.runs[~exp.runs["arch"].isin(NO_RLSTM)]
    frame = _hold(frame, subset, other, preferred) if len(frame) else frame
    varied = [sub for _, sub in frame.groupby(subset, sort=True) if sub[key].nunique() > 1] if len(frame) else []
    if not varied:
        return None
    cells = cell_rows(exp, pd.concat(varied))
    rows = _sort_rows([c.row for c in cells], ["dataset", "split", "stream", "arch", key])
    if key == "T":
        return Table("segments", "Number of segments T (Table 3)",
                     f"Test accuracy against T, the R-LSTM after {DEFAULT_INSERT} where present.",
                     _stream_table(rows, ("Table 3",)))
    return Table("insertion", "R-LSTM insertion point (Table 5)",
                 f"Test accuracy against where the R-LSTM is inserted, at T = {DEFAULT_T} where present.",
                 _stream_table(rows, ("Table 5",)))


def splits_table(exp: Experiment) -> Table | None:
    """Tables 6-8: per dataset, the mean over the official splits present (their number shown)."""
    frame = exp.runs[exp.runs["dataset"].isin(SPLIT_DATASETS)]
    if not len(frame):
        return None
    subset = ["dataset", "split", "stream", "arch"]
    held = _hold(_hold(frame, subset, "T", DEFAULT_T), subset, "insertion", DEFAULT_INSERT)
    cells = cell_rows(exp, held)
    rows = []
    keys = ["dataset", "stream", "arch", "T", "insertion"]
    grouped: dict[tuple, list[CellResult]] = {}
    for c in cells:
        grouped.setdefault(tuple(c.row[k] for k in keys), []).append(c)
    for key, group in grouped.items():
        dataset = key[0]
        splits = sorted(c.row["split"] for c in group)
        row = dict(zip(keys, key))
        row["splits"] = ", ".join(map(str, splits))
        row["n splits"] = len(splits)
        expected = 1 if dataset == "charades" else 3
        for _, label in TEST_METRICS:
            row[label], row[label + STD] = _mean_std([c.row[label] for c in group])  # std over splits
        metric = "mAP" if dataset == "charades" else "top1"
        found = paper_value(dataset, 1 if dataset == "charades" else None, row["stream"], row["arch"], row["T"],
                            row["insertion"], metric)
        row["paper (%)"] = found.value if found else None
        row["paper source"] = found.table if found else None
        row["comparable"] = ("yes" if len(splits) == expected else
                             f"no: {len(splits)} of {expected} splits, not a {expected}-split mean")
        row["trials"] = sum(c.row["trials"] for c in group)
        row["runs"] = " ".join(c.row["runs"] for c in sorted(group, key=lambda c: c.row["split"]))
        row["command"] = _commands(pd.concat([c.chosen for c in group]))
        if row["arch"] in NO_RLSTM:
            row["insertion"] = "–"
        rows.append(row)
    rows = _sort_rows(rows, keys)
    for r in rows:
        r["dataset"] = SPLIT_DATASETS[r["dataset"]]
        r["arch"] = ARCH_LABEL.get(r["arch"], r["arch"])
    caption = ("Tables 6-8 of the paper: the mean over the official splits present (± the std over splits). "
               "The paper's UCF-101 / HMDB-51 numbers are means of all 3 splits: a row from fewer splits says so "
               "in `comparable`. Charades has one split (its validation set); its metric is mAP.")
    return Table("splits", "Mean over splits (Tables 6-8)", caption, _frame(rows))


def fusion_table(exp: Experiment) -> Table | None:
    fusions = exp.fusions
    if not len(fusions):
        return None
    rows = []
    for _, run in fusions.iterrows():
        multilabel = not _isnan(run.get("metric:test/mAP"))
        name = "mAP" if multilabel else "top1"
        paper_w = PAPER_FUSION_WEIGHT_RGB.get(run["dataset"])
        rows.append({
            "dataset": run["dataset"], "split": run["split"], "group": run["group"] or "all",
            "arch": ARCH_LABEL.get(run["arch"], run["arch"]), "T": run["T"],
            "insertion": "–" if run["arch"] in NO_RLSTM else run["insertion"], "pairing": run["pairing"],
            "RGB weight (chosen on val)": run.get("metric:fusion/weight_rgb"),
            f"val {name} at it (%)": 100 * run.get(f"metric:val/{name}", math.nan),
            f"test {name} at it (%)": 100 * run.get(f"metric:test/{name}", math.nan),
            "RGB weight chosen on test (for comparison with the paper)": run.get("metric:fusion/test_optimal_weight_rgb"),
            f"test {name} at the test-chosen weight (%)": 100 * run.get(f"metric:test/{name}_at_test_optimal_weight",
                                                                          math.nan),
            "paper RGB weight (chosen on test)": paper_w,
            "rgb run": run["rgb_run"], "flow run": run["flow_run"], "fusion run": run["run_id"],
            "command": run["command"] or None,
        })
    rows = sorted(rows, key=lambda r: (r["dataset"], r["split"], r["group"], _arch_rank(r["arch"]), r["T"],
                                       r["insertion"], r["fusion run"]))
    caption = ("Two-stream fusion: w·RGB + (1-w)·flow logits. The reported number uses the weight chosen on the "
               "validation hold-out; the weight chosen on test (and the accuracy at it) is shown only for comparison "
               "with the paper, whose weights (UCF-101 0.45, HMDB-51 0.33) were read off test accuracy.")
    return Table("fusion", "Two-stream fusion weights", caption, _frame(rows))


def searched_keys(exp: Experiment, trials: pd.DataFrame) -> list[SearchedKey]:
    """The space's `search:` entries; without a space, the params that vary across the trials of a group."""
    if exp.space is not None:
        return list(exp.space.searched)
    out = []
    for col in _config_keys(trials):
        varies = any(sub[col].fillna("").nunique() > 1 for _, sub in trials.groupby("group", sort=True))
        if varies:
            values = tuple(sorted(set(trials[col].dropna()), key=lambda v: (as_number(v) is None, as_number(v) or 0, v)))
            out.append(SearchedKey(col.removeprefix("param:"), "observed", values, "unknown"))
    return out


def leaderboard_table(exp: Experiment, searched: list[SearchedKey]) -> Table:
    metric, mode = selection(exp)
    frame = exp.runs.copy()
    frame["_sel"] = _value(frame, metric) * (1 if mode == "max" else -1)
    rows = []
    for _, sub in frame.groupby(["dataset", "split", "stream"], sort=True):
        sub = sub.sort_values(["_sel", "run_id"], ascending=[False, True], na_position="last")
        for rank, (_, run) in enumerate(sub.iterrows(), start=1):
            row = {"dataset": run["dataset"], "split": run["split"], "stream": run["stream"],
                   "group": run["group"] or "all", "rank": rank, "kind": run["kind"],
                   "arch": ARCH_LABEL.get(run["arch"], run["arch"]), "T": run["T"],
                   "insertion": "–" if run["arch"] in NO_RLSTM else run["insertion"]}
            for s in searched:
                if s.key not in ("model.arch", "data.num_segments", "model.insert_after"):
                    row[s.key] = run.get(f"param:{s.key}")
            row[f"{metric} (%)" if "loss" not in metric else metric] = \
                (1 if "loss" in metric else 100) * run.get(f"metric:{metric}", math.nan)
            for m, label in TEST_METRICS:
                row[label] = 100 * run.get(f"metric:{m}", math.nan)
            row["epochs"] = run.get("param:optim.epochs")
            row["run"] = run["run_id"]
            row["command"] = run["command"] or None
            rows.append(row)
    rows = _sort_rows(rows, ["dataset", "split", "stream", "rank"])
    caption = (f"Every finished run, ranked within its dataset / split / stream by {metric} ({mode}): the metric "
               "the search optimised (test numbers are never used to choose). Fusion runs rank with the two-stream rows.")
    return Table("leaderboard", "Leaderboard of all runs", caption, _frame(rows))


def boundary_table(exp: Experiment, searched: list[SearchedKey]) -> Table | None:
    """For each searched hyperparameter and group: is the best trial's value on the edge of the searched range?"""
    trials = exp.results
    if not searched or not len(trials):
        return None
    metric, mode = selection(exp)
    rows = []
    for group, sub in trials.groupby("group", sort=True):
        best = choose(sub, metric, mode).iloc[0]
        for s in searched:
            value = best.get(f"param:{s.key}")
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            observed = s.values if s.kind != "observed" else tuple(
                v for v in s.values if v in set(sub[f"param:{s.key}"].dropna()))
            where, position = boundary(s.kind, observed, value)
            rows.append({"group": group or "all", "hyperparameter": s.key, "role": s.role,
                         "searched": _describe_range(s.kind, observed), "best value": value,
                         "position in range": position, "on boundary": where,
                         f"best {metric} (%)": 100 * best.get(f"metric:{metric}", math.nan),
                         "trials": len(sub), "best run": best["run_id"], "command": best["command"] or None})
    if not rows:
        return None
    caption = ("Where the best trial of each group (by the search metric) sits in each searched range. "
               "A value on the boundary means the optimum may lie outside the range: widen it before trusting the "
               "comparison. Continuous ranges: within the outer 10 % (log scale for loguniform); value lists: the "
               "lowest or highest value; categorical values have no boundary. "
               + ("Ranges from the search space file." if exp.space else
                  "No search space was found: ranges are the values observed in the trials."))
    return Table("boundary", "Searched hyperparameters: best value on the boundary?", caption, _frame(rows))


def boundary(kind: str, values: tuple, value) -> tuple[str, float | None]:
    """("yes: low edge" | "yes: high edge" | "no" | "n/a (categorical)", relative position in [0, 1])."""
    v = as_number(value)
    if v is None:
        return "n/a (categorical)", None
    if kind in ("uniform", "loguniform", "randint"):
        lo, hi = float(values[0]), float(values[1])
        if kind == "loguniform":
            v, lo, hi = math.log(v), math.log(lo), math.log(hi)
        pos = (v - lo) / (hi - lo)
        where = "yes: low edge" if pos <= 0.1 else "yes: high edge" if pos >= 0.9 else "no"
        return where, round(pos, 4)
    numbers = [as_number(x) for x in values]
    if any(n is None for n in numbers) or len(set(numbers)) < 2:
        return ("n/a (categorical)" if any(n is None for n in numbers) else "n/a (one value)"), None
    lo, hi = min(numbers), max(numbers)
    pos = (v - lo) / (hi - lo)
    where = "yes: lowest value" if math.isclose(v, lo) else "yes: highest value" if math.isclose(v, hi) else "no"
    return where, round(pos, 4)


def _describe_range(kind: str, values: tuple) -> str:
    if kind in ("uniform", "loguniform", "randint"):
        return f"{kind} [{values[0]:g}, {values[1]:g}]"
    return f"{kind} {{{', '.join(map(str, values))}}}"


# ---------------------------------------------------------------- from stored scores
def per_class_accuracy(exp: Experiment, runs: pd.DataFrame) -> tuple[list[str], np.ndarray] | None:
    """(class names, mean over the runs of per-class test accuracy in %), single-label runs only."""
    from rlx.eval.metrics import per_class_accuracy as pca
    from rlx.eval.scores import score_matrix

    accs, names = [], None
    for run_id in runs["run_id"]:
        got = exp.scores(run_id)
        if got is None or "label" not in got[0]:
            return None
        frame, classes = got
        if names is not None and classes != names:
            return None
        names = classes
        accs.append(100 * pca(score_matrix(frame, classes), frame["label"].to_numpy(), len(classes)))
    return (names, np.nanmean(np.stack(accs), axis=0)) if accs else None


def gain_pair(cells: list[CellResult]) -> list[tuple[CellResult, CellResult]]:
    """(A, B) cells of the same dataset/split/stream for the first arch pair of GAIN_PAIRS present."""
    by = {}
    for c in cells:
        by.setdefault((c.row["dataset"], c.row["split"], c.row["stream"]), {})[c.row["arch"]] = c
    out = []
    for key in sorted(by, key=lambda k: (k[0], k[1], STREAMS.index(k[2]) if k[2] in STREAMS else 9)):
        for a, b in GAIN_PAIRS:
            if a in by[key] and b in by[key]:
                out.append((by[key][a], by[key][b]))
                break
    return out


def gain_table(exp: Experiment, cells: list[CellResult], top: int = 10) -> tuple[Table | None, list[dict]]:
    """Fig. 3: per-class test accuracy gain of one arch over another, the `top` most improved classes."""
    rows, figures = [], []
    for a, b in gain_pair(cells):
        acc_a, acc_b = per_class_accuracy(exp, a.chosen), per_class_accuracy(exp, b.chosen)
        if acc_a is None or acc_b is None or acc_a[0] != acc_b[0]:
            continue
        names = acc_a[0]
        gain = acc_a[1] - acc_b[1]
        order = sorted(range(len(names)), key=lambda i: (-np.nan_to_num(gain[i], nan=-np.inf), names[i]))[:top]
        figures.append({"a": a, "b": b, "classes": [names[i] for i in order], "acc_a": acc_a[1][order],
                        "acc_b": acc_b[1][order], "gain": gain[order]})
        for rank, i in enumerate(order, start=1):
            rows.append({"dataset": a.row["dataset"], "split": a.row["split"], "stream": a.row["stream"],
                         "model A": ARCH_LABEL[a.row["arch"]], "model B": ARCH_LABEL[b.row["arch"]], "rank": rank,
                         "class": names[i], "A acc (%)": acc_a[1][i], "B acc (%)": acc_b[1][i],
                         "gain (points)": gain[i], "runs A": a.row["runs"], "runs B": b.row["runs"]})
    if not rows:
        return None, figures
    caption = (f"Figure 3 of the paper: the {top} classes whose test accuracy (top-1 recall, mean over the chosen "
               "runs' seeds) gains most from model A over model B, in the same group (same T and insertion as the "
               "architectures table).")
    return Table("class_gain", "Most improved classes (Figure 3)", caption, _frame(rows)), figures


def family_table(exp: Experiment, cells: list[CellResult]) -> tuple[Table | None, list[dict]]:
    """Synthetic benchmark: test accuracy per class family (appearance / order / interaction) per arch."""
    from rlx.data.synthetic import FAMILIES, family_accuracy
    from rlx.eval.scores import score_matrix

    rows = []
    for c in _sort_rows_cells(cells):
        if c.row["dataset"] != "synthetic":
            continue
        per_run: dict[str, list[float]] = {f: [] for f in (*FAMILIES, "all")}
        for run_id in c.chosen["run_id"]:
            got = exp.scores(run_id)
            if got is None or "label" not in got[0]:
                break
            frame, classes = got
            try:
                acc = family_accuracy(score_matrix(frame, classes), frame["label"].to_numpy(), classes)
            except ValueError:  # not the synthetic benchmark's classes
                break
            for f in (*FAMILIES, "all"):
                per_run[f].append(acc[f])
        else:
            row = {k: c.row[k] for k in ("dataset", "split", "stream")}
            row["arch"] = ARCH_LABEL.get(c.row["arch"], c.row["arch"])
            row["T"] = c.row["T"]
            for f in (*FAMILIES, "all"):
                row[f"{f} (%)"], row[f"{f} (%){STD}"] = _mean_std(per_run[f])
            row.update({"trials": c.row["trials"], "seeds": c.row["seeds"], "runs": c.row["runs"],
                        "command": c.row["command"]})
            rows.append(row)
    if not rows:
        return None, rows
    caption = ("The synthetic benchmark's class families: appearance (one frame suffices), order (pairs of classes "
               "that are exact time reversals: an order-invariant model is at chance within a pair) and interaction "
               "(the relation of two objects). Test accuracy over the videos of each family, mean ± std over seeds.")
    return Table("families", "Accuracy per class family (synthetic benchmark)", caption, _frame(rows)), rows


def _sort_rows_cells(cells: list[CellResult]) -> list[CellResult]:
    order = {id(r): i for i, r in enumerate(_sort_rows([c.row for c in cells], ROW_KEYS))}
    return sorted(cells, key=lambda c: order[id(c.row)])
