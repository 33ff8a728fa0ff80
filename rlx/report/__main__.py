"""`python -m rlx.report --experiment NAME [--out DIR] [--log] [--mlflow-url URL]`

Writes DIR (default reports/NAME): README.md (Markdown tables), tables/*.csv,
plots/*.png and index.html (one self-contained page). The MLflow store is
`$MLFLOW_TRACKING_URI`, else ./mlruns.db. With --log the same files go to the
search's MLflow parent run (`search-NAME`) as artifacts under `report/`. Run
ids link to their MLflow pages when a server is known (--mlflow-url, else an
http(s) MLFLOW_TRACKING_URI). Exit 2 with one line when the experiment does
not exist, has no finished run, or (--log) has no search run.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m rlx.report", description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", required=True, help="MLflow experiment (a search space's name, or rlx-train)")
    parser.add_argument("--out", help="output folder (default reports/<experiment>)")
    parser.add_argument(
        "--log", action="store_true", help="also log the report to the search's MLflow parent run (artifacts report/)"
    )
    parser.add_argument(
        "--mlflow-url",
        help="MLflow server URL the run ids link to (default: MLFLOW_TRACKING_URI when it is http(s); else no links)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one bar per score table otherwise
    # mlflow, pandas and matplotlib (~3 s; 11 s on a loaded machine): `--help` and argument errors answer in 0.3 s.
    from rlx.report.links import server_url  # noqa: PLC0415  (see above)
    from rlx.report.publish import log_report, search_run_id, write_report  # noqa: PLC0415  (see above)
    from rlx.report.search import ReportError  # noqa: PLC0415  (see above)
    from rlx.tracking import default_tracking_uri  # noqa: PLC0415  (see above)

    out = Path(args.out or Path("reports") / args.experiment)
    uri = default_tracking_uri()
    try:
        parent = search_run_id(args.experiment, uri) if args.log else None  # refused before anything is written
        written = write_report(args.experiment, uri, out, server_url(uri, args.mlflow_url))
    except ReportError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(
        f"report of {written.runs} runs: {written.tables} tables, {written.plots} plots -> {out}/README.md, "
        f"open {(out / 'index.html').resolve().as_uri()}"
    )
    if parent is not None:
        folder = log_report(parent, out, uri)
        print(f"logged to MLflow run {parent} (experiment {args.experiment}), artifacts {folder}/ at {uri}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
