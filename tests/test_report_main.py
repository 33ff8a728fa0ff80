"""`python -m rlx.report --log` and `--mlflow-url`: the report as artifacts of the search run, run ids as links."""

from __future__ import annotations

import re

import pytest
from test_report_build import RLSTM_SCORES, TSN_SCORES, _trial, build_families

from rlx.report.__main__ import main
from rlx.tracking import experiment_id, list_artifacts, open_run


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Experiment "small": a search run and two trials with scores; experiment "fam": runs without a search run."""
    root = tmp_path_factory.mktemp("main")
    uri = f"sqlite:///{root / 'mlruns.db'}"
    build_families(root)
    search = open_run("small", "search-small", tracking_uri=uri, tags={"rlx.kind": "search"})
    t = dict(uri=uri, tmp=root / "scores", parent=search.run_id, experiment="small")
    ids = {
        "search": search.run_id,
        "tsn": _trial(key="tsn", arch="tsn", test=0.80, scores=TSN_SCORES, **t),
        "tb": _trial(key="tb", test=0.90, scores=RLSTM_SCORES, **t),
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        assert main(["--experiment", "small", "--out", str(root / "small"), "--log"]) == 0
    return root, uri, ids


def test_log_puts_the_report_files_under_report_of_the_search_run(store, tmp_path):
    root, uri, ids = store
    logged = list_artifacts(ids["search"], "report", uri)
    assert {"report/index.html", "report/README.md", "report/tables/architectures.csv"} <= set(logged)
    pngs = sorted(p.relative_to(root / "small").as_posix() for p in (root / "small" / "plots").glob("*.png"))
    assert pngs and {f"report/{p}" for p in pngs} <= set(logged)
    assert len(logged) == 2 + len(list((root / "small" / "tables").glob("*.csv"))) + len(pngs)  # nothing else
    assert list_artifacts(ids["tb"], "report", uri) == []  # only the search run


def test_log_refuses_an_experiment_without_a_search_run(store, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store[1])
    assert main(["--experiment", "fam", "--out", str(tmp_path / "fam"), "--log"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: MLflow experiment 'fam' at sqlite:") and "\n" not in err
    assert "has no search run (tag rlx.run_key = 'search-fam')" in err
    assert not (tmp_path / "fam").exists()  # refused before anything is written
    assert main(["--experiment", "nope", "--out", str(tmp_path / "nope"), "--log"]) == 2
    assert capsys.readouterr().err.strip() == f"error: MLflow experiment 'nope' not found at {store[1]}"


def test_mlflow_url_links_every_run_id_to_its_page(store, tmp_path, monkeypatch):
    root, uri, ids = store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert main(["--experiment", "small", "--out", str(tmp_path / "linked"), "--mlflow-url", "http://mlf:5000/"]) == 0
    page = f"http://mlf:5000/#/experiments/{experiment_id('small', uri)}/runs/"
    readme = (tmp_path / "linked" / "README.md").read_text()
    assert f"[{ids['tb'][:8]}]({page}{ids['tb']})" in readme and f"[{ids['tsn'][:8]}]({page}{ids['tsn']})" in readme
    html = (tmp_path / "linked" / "index.html").read_text()
    assert f'<a href="{page}{ids["tb"]}">{ids["tb"][:8]}</a>' in html
    # Every short id shown is a link; the CSVs keep the plain full ids.
    assert not re.search(r"<td>[0-9a-f]{8}( [0-9a-f]{8})*</td>", html)
    assert (tmp_path / "linked" / "tables" / "leaderboard.csv").read_text() == (
        root / "small" / "tables" / "leaderboard.csv"
    ).read_text()
    plain = (root / "small" / "README.md").read_text()
    assert "#/experiments/" not in plain  # a sqlite store and no --mlflow-url: no links


def test_the_search_keeps_the_report_it_logs_where_asked(store, tmp_path, capsys):
    from rlx.tune.search import publish_report  # noqa: PLC0415  (Ray: only this test needs it)

    root, uri, ids = store
    assert publish_report("small", ids["search"], uri, keep_in=str(tmp_path / "kept")) is True
    assert capsys.readouterr().out.rstrip().endswith(f"; files in {tmp_path / 'kept'}")
    for name in ("README.md", "tables/architectures.csv"):  # the files `python -m rlx.report --out` writes
        assert (tmp_path / "kept" / name).read_text() == (root / "small" / name).read_text()
