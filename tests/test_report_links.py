"""Run ids as links to their MLflow pages: only with a server URL; without one the output is unchanged."""

from __future__ import annotations

import pandas as pd

from rlx.report.build import Report, Section
from rlx.report.format import Kind, Table
from rlx.report.html import render_html, render_markdown
from rlx.report.links import RunLinks, server_url

A, B = "a" * 32, "b" * 32
LINKS = RunLinks("http://127.0.0.1:5000/", "7")


def report() -> Report:
    frame = pd.DataFrame({"arch": ["TSN", "two-branch"], "runs": [f"{A} {B}", None], "acc (%)": [87.5, 92.0]})
    table = Table("t", "A table", "", frame, {"runs": Kind.RUN_IDS, "acc (%)": Kind.PERCENT})
    return Report("Report: x", ["intro"], [Section("A table", "", table)])


def test_url_of_a_run_page():
    assert LINKS.url(A) == f"http://127.0.0.1:5000/#/experiments/7/runs/{A}"


def test_server_url_from_the_flag_or_an_http_tracking_uri():
    assert server_url("sqlite:////tmp/mlruns.db") is None
    assert server_url("/tmp/mlruns") is None
    assert server_url("http://127.0.0.1:5000/") == "http://127.0.0.1:5000"
    assert server_url("https://mlflow.example.org") == "https://mlflow.example.org"
    assert server_url("sqlite:////tmp/mlruns.db", "http://host:5000/") == "http://host:5000"


def test_markdown_links_each_short_id_to_its_full_ids_page():
    md = render_markdown(report(), LINKS)
    url = "http://127.0.0.1:5000/#/experiments/7/runs/"
    assert f"| TSN | [aaaaaaaa]({url}{A}) [bbbbbbbb]({url}{B}) | 87.5 |" in md
    assert "| two-branch | – | 92.0 |" in md  # a missing value stays a dash


def test_html_links_each_short_id_and_escapes_the_rest():
    page = render_html(report(), "unused", LINKS)
    url = "http://127.0.0.1:5000/#/experiments/7/runs/"
    assert f'<td><a href="{url}{A}">aaaaaaaa</a> <a href="{url}{B}">bbbbbbbb</a></td>' in page
    assert "<td>–</td>" in page and "<td>87.5</td>" in page


def test_without_a_server_the_output_is_as_before():
    md, page = render_markdown(report()), render_html(report(), "unused")
    assert "| TSN | aaaaaaaa bbbbbbbb | 87.5 |" in md and "#/experiments/" not in md
    assert "<td>aaaaaaaa bbbbbbbb</td>" in page and "<a " not in page
    assert render_markdown(report(), None) == md and render_html(report(), "unused", None) == page
