"""The report of an experiment written to a folder, and logged to the search's MLflow parent run.

`write_report` is what `python -m rlx.report` does; `log_report` puts the
files (`index.html`, `README.md`, `tables/`, `plots/`) under the artifact
folder `report/` of the search run `search-<experiment>`, where the MLflow
UI shows them (the run's Artifacts tab; `index.html` opens there as a page).
MLflow is reached only through rlx.tracking.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rlx.report.build import build_report
from rlx.report.html import render_html, render_markdown
from rlx.report.links import RunLinks
from rlx.report.load import load_experiment
from rlx.report.search import ReportError
from rlx.tracking import experiment_id, find_run, log_artifacts

REPORT_ARTIFACTS = "report"  # artifact folder of the search run that holds the report
REPORT_FILES = ("index.html", "README.md", "tables", "plots")


@dataclass(frozen=True)
class Written:
    """What `write_report` wrote."""

    out: Path
    runs: int
    tables: int
    plots: int


def write_report(experiment: str, tracking_uri: str, out: Path, server: str | None = None) -> Written:
    """The experiment's report into `out`; run ids link to `server`'s MLflow UI when given. ReportError: no runs."""
    with tempfile.TemporaryDirectory(prefix="rlx-report-") as cache:
        exp = load_experiment(experiment, tracking_uri, Path(cache))
        links = None
        if server:
            exp_id = experiment_id(experiment, tracking_uri)
            links = RunLinks(server, exp_id) if exp_id is not None else None
        out.mkdir(parents=True, exist_ok=True)
        report = build_report(exp, out)
        (out / "README.md").write_text(render_markdown(report, links))
        (out / "index.html").write_text(render_html(report, out, links))
    return Written(
        out,
        len(exp.runs),
        sum(s.table is not None for s in report.sections),
        sum(len(s.images) for s in report.sections),
    )


def search_run_id(experiment: str, tracking_uri: str) -> str:
    """The run id of the search parent run `search-<experiment>`; ReportError when there is none."""
    if experiment_id(experiment, tracking_uri) is None:
        raise ReportError(f"MLflow experiment {experiment!r} not found at {tracking_uri}")
    found = find_run(experiment, f"search-{experiment}", tracking_uri)
    if found is None:
        raise ReportError(
            f"MLflow experiment {experiment!r} at {tracking_uri} has no search run (tag rlx.run_key = "
            f"'search-{experiment}'): --log puts the report on a search's parent run; without --log the report "
            "is written to disk only"
        )
    return found.run_id


def log_report(run_id: str, out: Path, tracking_uri: str) -> str:
    """The report's files in `out` as artifacts of `run_id` under `report/`; returns that artifact folder."""
    with tempfile.TemporaryDirectory(prefix="rlx-report-log-") as staging:
        for name in REPORT_FILES:  # only the report's own files, whatever else the folder holds
            src = out / name
            if src.is_dir():
                shutil.copytree(src, Path(staging) / name)
            elif src.is_file():
                shutil.copy2(src, Path(staging) / name)
        log_artifacts(run_id, staging, REPORT_ARTIFACTS, tracking_uri)
    return REPORT_ARTIFACTS
