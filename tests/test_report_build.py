"""rlx.report on a small MLflow store written here through rlx.tracking (no Ray): the numbers in the tables.

The store imitates what rlx.tune writes: a search parent run with its space
artifact, trial runs with flat params, per-epoch and final metrics and test
score tables, a two-stream fusion run, and a second experiment of single
runs without a parent (the synthetic benchmark's families).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rlx.eval.scores import write_scores
from rlx.report.__main__ import main
from rlx.report.format import PAPER_LABEL
from rlx.tracking import open_run

UCF_CLASSES = ["ApplyEyeMakeup", "Archery", "Basketball", "Biking"]
LABELS = np.array([0, 0, 1, 1, 2, 2, 3, 3])
VIDEOS = [f"v_{i}" for i in range(len(LABELS))]
SPACE = """name: abl
description: A test ablation.
fixed: {data.dataset: ucf101}
axes:
  data.split: [1, 2, 3]
  data.modality: [rgb, flow]
search:
  data.num_segments: {grid: [6, 8], role: scientific}
  model.arch: {grid: [tsn, nonlocal, two_branch], role: scientific}
  model.dropout: {uniform: [0.5, 0.9], role: nuisance}
metric: val/top1
mode: max
"""
COMMAND = "python -m rlx.tune --space tune_spaces/abl.yaml"


def logits(pred: list[int], magnitude: list[float]) -> np.ndarray:
    """(8, 4) scores: `magnitude` at the predicted class, 0 elsewhere."""
    out = np.zeros((len(pred), len(UCF_CLASSES)), np.float32)
    out[np.arange(len(pred)), pred] = magnitude
    return out


# TSN: right on classes 0-2, both class-3 videos predicted as class 0 -> per class [100, 100, 100, 0].
TSN_SCORES = logits([0, 0, 1, 1, 2, 2, 0, 0], [2.0] * 8)
# R-LSTM models: both class-0 videos predicted as class 1 (weakly for v_0), the rest right -> [0, 100, 100, 100].
RLSTM_SCORES = logits([1, 1, 1, 1, 2, 2, 3, 3], [1.5, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0])
# Their equal-weight average: v_0 back to class 0 (1.0 > 0.75), v_1 stays wrong (1.5 > 1.0), v_6/v_7 right -> 7/8.


def _trial(
    uri,
    tmp,
    key,
    *,
    dataset="ucf101",
    split=1,
    modality="rgb",
    arch="two_branch",
    T=8,
    dropout=0.8,
    seed=0,
    val=(0.5, 0.6, 0.7),
    test=0.8,
    scores=None,
    parent=None,
    kind="trial",
    experiment="abl",
    classes=UCF_CLASSES,
    labels=LABELS,
    videos=VIDEOS,
    counts=None,
):
    tags = {"rlx.kind": kind, "rlx.dataset": dataset, "rlx.command": COMMAND if parent else "python -m rlx.train"}
    if parent:
        tags["rlx.group"] = f"data.dataset={dataset},data.split={split},data.modality={modality}"
    run = open_run(experiment, key, parent_run_id=parent, tracking_uri=uri, tags=tags)
    run.log_params(
        {
            "data.dataset": dataset,
            "data.split": split,
            "data.modality": modality,
            "data.num_segments": T,
            "model.arch": arch,
            "model.insert_after": "conv5_2",
            "model.dropout": dropout,
            "train.seed": seed,
            "optim.epochs": len(val),
            "data.classes": "()",  # all classes, as rlx.train logs it
        }
    )
    if counts is not None:  # (test videos covered, left out); None: a run from before they were logged
        run.log_metrics({"test/videos": counts[0], "data/excluded/test": counts[1]}, step=len(val))
    for epoch, v in enumerate(val, start=1):
        run.log_metrics({"epoch": epoch, "val/top1": v, "train/loss": 2.0 / epoch}, step=epoch)
    run.log_metrics({"test/top1": test, "test/top5": 1.0, "test/mean_class_acc": test - 0.01}, step=len(val))
    if scores is not None:
        path = write_scores(tmp / key / "test.parquet", videos, scores, labels, classes)
        run.log_artifact(path, "scores")
    run.finish()
    return run.run_id


def build_store(root: Path) -> dict[str, str]:
    """Both experiments; returns run ids by name."""
    uri = f"sqlite:///{root / 'mlruns.db'}"
    tmp = root / "scores"
    (root / "abl.yaml").write_text(SPACE)
    search = open_run(
        "abl",
        "search-abl",
        tracking_uri=uri,
        tags={"rlx.kind": "search", "rlx.space": "tune_spaces/abl.yaml", "rlx.command": COMMAND},
    )
    search.log_artifact(root / "abl.yaml", "space")
    p = search.run_id
    ids = {"search": p}
    t = dict(uri=uri, tmp=tmp, parent=p)
    # Spatial, split 1, T = 8: TSN 2 seeds; two-branch 2 seeds of the best config + one worse config; non-local 1.
    ids["tsn0"] = _trial(key="tsn0", arch="tsn", seed=0, test=0.80, val=(0.5, 0.7), scores=TSN_SCORES, **t)
    ids["tsn1"] = _trial(key="tsn1", arch="tsn", seed=1, test=0.84, val=(0.5, 0.7), scores=TSN_SCORES, **t)
    ids["tb0"] = _trial(key="tb0", dropout=0.88, seed=0, test=0.90, val=(0.6, 0.9), scores=RLSTM_SCORES, **t)
    ids["tb1"] = _trial(key="tb1", dropout=0.88, seed=1, test=0.86, val=(0.6, 0.8), scores=RLSTM_SCORES, **t)
    ids["tb_worse"] = _trial(key="tb_worse", dropout=0.6, test=0.99, val=(0.4, 0.5), scores=RLSTM_SCORES, **t)
    ids["nl0"] = _trial(key="nl0", arch="nonlocal", test=0.85, val=(0.5, 0.75), scores=RLSTM_SCORES, **t)
    ids["tb_T6"] = _trial(key="tb_T6", T=6, test=0.75, val=(0.5, 0.6), **t)
    # Temporal, split 1.
    ids["tsn_flow"] = _trial(key="tsn_flow", modality="flow", arch="tsn", test=0.85, counts=(8, 0), **t)
    ids["tb_flow"] = _trial(key="tb_flow", modality="flow", test=0.87, **t)
    # Spatial two-branch on splits 2 and 3; HMDB-51 split 1 only.
    ids["tb_s2"] = _trial(key="tb_s2", split=2, test=0.70, **t)
    ids["tb_s3"] = _trial(key="tb_s3", split=3, test=0.60, **t)
    ids["hmdb"] = _trial(key="hmdb", dataset="hmdb51", test=0.50, counts=(6, 2), **t)  # 2 test videos left out
    # A trial that did not finish: left out.
    open_run("abl", "crashed", parent_run_id=p, tracking_uri=uri, tags={"rlx.kind": "trial"}).finish("FAILED")
    # Two-stream fusion of tb0 and tb_flow.
    fusion = open_run(
        "abl",
        "fusion-tb0-tb_flow",
        parent_run_id=p,
        tracking_uri=uri,
        tags={
            "rlx.kind": "fusion",
            "rlx.group": "data.dataset=ucf101,data.split=1",
            "rlx.command": COMMAND,
            "rlx.fusion.rgb_run": ids["tb0"],
            "rlx.fusion.flow_run": ids["tb_flow"],
            "rlx.fusion.pairing": "equal-config",
            "rlx.dataset": "ucf101",
        },
    )
    fusion.log_params(
        {
            "data.dataset": "ucf101",
            "data.split": 1,
            "data.modality": "two_stream",
            "data.num_segments": 8,
            "model.arch": "two_branch",
            "model.insert_after": "conv5_2",
            "model.dropout": 0.88,
            "train.seed": 0,
            "optim.epochs": 2,
            "fusion.step": 0.05,
        }
    )
    fusion.log_metrics(
        {
            "fusion/weight_rgb": 0.45,
            "val/top1": 0.91,
            "test/top1": 0.93,
            "test/top5": 1.0,
            "test/mean_class_acc": 0.92,
            "fusion/test_optimal_weight_rgb": 0.5,
            "test/top1_at_test_optimal_weight": 0.95,
        },
        step=0,
    )
    fusion.finish()
    ids["fusion"] = fusion.run_id
    return ids | build_families(root)


def build_families(root: Path) -> dict[str, str]:
    """Experiment "fam": single rlx.train runs (no parent, no space) on three synthetic classes."""
    uri, tmp, ids = f"sqlite:///{root / 'mlruns.db'}", root / "scores", {}
    classes = ["appearance_red_square", "interaction_meet", "order_left_to_right"]
    labels = np.array([0, 0, 1, 1, 2, 2])
    videos = [f"s_{i}" for i in range(6)]
    # local: right on appearance and interaction, one of two order videos -> 100 / 100 / 50.
    local = np.eye(3, dtype=np.float32)[[0, 0, 1, 1, 2, 0]]
    # two_branch: one interaction video wrong, order right -> 100 / 50 / 100.
    both = np.eye(3, dtype=np.float32)[[0, 0, 1, 0, 2, 2]]
    f = dict(
        uri=uri,
        tmp=tmp,
        kind="run",
        experiment="fam",
        dataset="synthetic",
        classes=classes,
        labels=labels,
        videos=videos,
    )
    ids["fam_local"] = _trial(key="fam_local", arch="local", test=5 / 6, dropout=0.5, scores=local, **f)
    ids["fam_tb"] = _trial(key="fam_tb", arch="two_branch", test=5 / 6, dropout=0.7, scores=both, **f)
    return ids


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    ids = build_store(root)
    uri = f"sqlite:///{root / 'mlruns.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        for name in ("abl", "fam"):
            assert main(["--experiment", name, "--out", str(root / "out" / name)]) == 0
    return root, ids


def table(store, name: str, experiment: str = "abl") -> pd.DataFrame:
    return pd.read_csv(store[0] / "out" / experiment / "tables" / f"{name}.csv", keep_default_na=False, na_values=[""])


def row(frame: pd.DataFrame, **match) -> pd.Series:
    sel = frame
    for key, value in match.items():
        sel = sel[sel[key] == value]
    assert len(sel) == 1, f"{len(sel)} rows match {match}:\n{frame.to_string()}"
    return sel.iloc[0]


def test_architecture_table_mean_std_over_the_chosen_configs_seeds(store):
    arch = table(store, "architectures")
    tb = row(arch, dataset="ucf101", stream="spatial", arch="two-branch", split=1)
    # The dropout 0.88 config (best mean val 0.85) is chosen over dropout 0.6 (val 0.5, test 0.99 ignored).
    assert tb["test top-1 over videos (%)"] == pytest.approx(88.0)
    assert tb["test top-1 over videos (%) ±"] == pytest.approx(np.std([90, 86], ddof=1), abs=1e-4)
    assert (tb["trials"], tb["seeds"]) == (3, 2)
    assert tb["chosen"] == "model.dropout=0.88"
    assert tb["runs"] == f"{store[1]['tb0']} {store[1]['tb1']}"
    assert tb[PAPER_LABEL["accuracy"]] == 88.7 and tb["paper source"] == "Table 4"
    assert tb["command"] == COMMAND
    tsn = row(arch, stream="spatial", arch="TSN", split=1)
    assert tsn["test top-1 over videos (%)"] == pytest.approx(82.0) and tsn[PAPER_LABEL["accuracy"]] == 87.0
    assert tsn["insertion"] == "–"
    flow = row(arch, stream="temporal", arch="TSN")
    assert flow["test top-1 over videos (%)"] == pytest.approx(85.0) and flow[PAPER_LABEL["accuracy"]] == 88.5
    # T = 6 is held out of this table (the paper's T = 8 is present).
    assert set(arch[arch["arch"] == "two-branch"]["T"]) == {8}


def test_tsn_plus_rlstm_ensemble_from_stored_scores(store):
    arch = table(store, "architectures")
    ens = row(arch, stream="spatial", arch="TSN + R-LSTM")
    assert ens["test top-1 over videos (%)"] == pytest.approx(87.5)  # 7 of 8, worked out beside RLSTM_SCORES
    assert ens[PAPER_LABEL["accuracy"]] == 88.6 and ens["seeds"] == 1  # non-local has seed 0 only
    assert ens["runs"] == f"{store[1]['tsn0']} {store[1]['nl0']}"
    both = row(arch, stream="spatial", arch="TSN + two-branch")
    assert both["seeds"] == 2 and both["test top-1 over videos (%)"] == pytest.approx(87.5)
    assert both["test top-1 over videos (%) ±"] == pytest.approx(0.0)
    assert not ((arch["arch"] == "TSN + R-LSTM") & (arch["stream"] == "temporal")).any()  # flow runs have no scores


def test_two_stream_rows_say_the_weight_and_where_it_was_chosen(store):
    arch = table(store, "architectures")
    two = row(arch, stream="two-stream", arch="two-branch")
    assert two["test top-1 over videos (%)"] == pytest.approx(93.0) and two[PAPER_LABEL["accuracy"]] == 94.4
    assert two["RGB weight"] == "0.45 (chosen on val)"
    fusion = row(table(store, "fusion"), group="data.dataset=ucf101,data.split=1")
    assert fusion["RGB weight (chosen on val)"] == 0.45
    assert fusion["test top1 at it (%)"] == pytest.approx(93.0)
    assert fusion["RGB weight chosen on test (for comparison with the paper)"] == 0.5
    assert fusion["test top1 at the test-chosen weight (%)"] == pytest.approx(95.0)
    assert fusion["paper RGB weight (chosen on test)"] == 0.45
    assert (fusion["rgb run"], fusion["flow run"]) == (store[1]["tb0"], store[1]["tb_flow"])


def test_split_means_show_how_many_splits(store):
    splits = table(store, "splits")
    ucf = row(splits, dataset="UCF-101", stream="spatial", arch="two-branch")
    assert ucf["test top-1 over videos (%)"] == pytest.approx((88.0 + 70.0 + 60.0) / 3)
    assert (ucf["splits"], ucf["n splits"], ucf["comparable"]) == ("1, 2, 3", 3, "yes")
    hmdb = row(splits, dataset="HMDB-51", stream="spatial", arch="two-branch")
    assert hmdb["n splits"] == 1 and hmdb["comparable"] == "no: 1 of 3 splits, not a 3-split mean"
    two = row(splits, dataset="UCF-101", stream="two-stream", arch="two-branch")
    assert two[PAPER_LABEL["accuracy"]] == 94.8 and two["comparable"].startswith("no: 1 of 3")


def test_t_sweep_and_no_insertion_table(store):
    seg = table(store, "segments")
    assert list(seg["T"]) == [6, 8]
    assert list(seg[PAPER_LABEL["accuracy"]]) == [87.2, 88.7]
    assert not (store[0] / "out" / "abl" / "tables" / "insertion.csv").exists()  # one insertion point only
    assert (store[0] / "out" / "abl" / "plots" / "metric_vs_T.png").stat().st_size > 1000


def test_per_class_gains(store):
    gain = table(store, "class_gain")
    assert list(gain["class"]) == ["Biking", "Archery", "Basketball", "ApplyEyeMakeup"]
    assert list(gain["gain (points)"]) == pytest.approx([100.0, 0.0, 0.0, -100.0])
    assert set(gain["model A"]) == {"two-branch"} and set(gain["model B"]) == {"TSN"}


def test_boundary_flag_from_the_space_artifact(store):
    b = table(store, "boundary")
    rgb = b[b["group"] == "data.dataset=ucf101,data.split=1,data.modality=rgb"]
    drop = row(rgb, hyperparameter="model.dropout")
    assert drop["on boundary"] == "yes: high edge" and drop["position in range"] == pytest.approx(0.95)
    assert drop["role"] == "nuisance" and drop["searched"] == "uniform [0.5, 0.9]"
    assert row(rgb, hyperparameter="data.num_segments")["on boundary"] == "yes: highest value"
    assert row(rgb, hyperparameter="model.arch")["on boundary"] == "n/a (categorical)"


def test_leaderboard_ranks_by_validation_and_leaves_unfinished_out(store):
    board = table(store, "leaderboard")
    spatial = board[(board["dataset"] == "ucf101") & (board["split"] == 1) & (board["stream"] == "spatial")]
    assert list(spatial["run"])[:3] == [store[1]["tb0"], store[1]["tb1"], store[1]["nl0"]]
    assert list(spatial["rank"]) == list(range(1, len(spatial) + 1))
    assert len(board) == 13  # 12 finished trials + 1 fusion run; the FAILED one is left out
    readme = (store[0] / "out" / "abl" / "README.md").read_text()
    assert "Generated from 13 finished runs (12 search trials, 1 two-stream fusion runs)" in readme
    assert "1 unfinished run(s) left out" in readme
    hmdb = row(board, dataset="hmdb51")
    assert (hmdb["test videos"], hmdb["test videos left out"], hmdb["test set"]) == (6, 2, "incomplete")
    assert row(board, run=store[1]["tsn_flow"])["test set"] == "complete"
    assert "| hmdb51 †1 | 1 | spatial |" in readme and "†1 incomplete test set: 6 of 8 test videos" in readme
    assert "Test sets: 3 of " in readme  # hmdb51 in the architectures, splits and leaderboard tables
    assert "11 of 13 runs did not log `data/excluded/test`" in readme


def test_families_of_the_synthetic_benchmark_without_a_parent(store):
    fam = table(store, "families", "fam")
    local, tb = row(fam, arch="local only"), row(fam, arch="two-branch")
    assert (local["appearance (%)"], local["interaction (%)"], local["order (%)"]) == (100.0, 100.0, 50.0)
    assert (tb["appearance (%)"], tb["interaction (%)"], tb["order (%)"]) == (100.0, 50.0, 100.0)
    b = table(store, "boundary", "fam")  # no space: the observed range of the params that vary
    assert row(b, hyperparameter="model.dropout")["searched"] == "observed {0.5, 0.7}"
    assert (store[0] / "out" / "fam" / "plots" / "families.png").is_file()


def test_files_and_determinism(store, tmp_path):
    out = store[0] / "out" / "abl"
    for name in ("README.md", "index.html", "tables/architectures.csv", "tables/leaderboard.csv"):
        assert (out / name).is_file(), name
    pngs = sorted(p.name for p in (out / "plots").glob("*.png"))
    assert "learning_curves.png" in pngs and any(p.startswith("class_gain-") for p in pngs)
    assert any(p.startswith("top5-") for p in pngs)
    html = (out / "index.html").read_text()
    assert html.count("<img ") == len(pngs) and 'src="plots/' not in html  # every figure embedded
    readme = (out / "README.md").read_text()
    assert all(f"(plots/{p})" in readme for p in pngs)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store[0] / 'mlruns.db'}")
        assert main(["--experiment", "abl", "--out", str(tmp_path / "again")]) == 0
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        again = tmp_path / "again" / path.relative_to(out)
        assert again.read_bytes() == path.read_bytes(), f"{path.relative_to(out)} differs when regenerated"


def test_cli_errors_exit_2_with_one_line(store, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store[0] / 'mlruns.db'}")
    assert main(["--experiment", "nope", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: MLflow experiment 'nope' not found") and "abl" in err and "\n" not in err
    assert not (tmp_path / "x").exists()
    open_run("empty", "k", tracking_uri=os.environ["MLFLOW_TRACKING_URI"], tags={"rlx.kind": "trial"}).finish("FAILED")
    assert main(["--experiment", "empty"]) == 2
    assert "has no finished runs (1 unfinished" in capsys.readouterr().err
