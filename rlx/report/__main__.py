"""`python -m rlx.report --experiment NAME [--out DIR]`

Writes DIR (default reports/NAME): README.md (Markdown tables), tables/*.csv,
plots/*.png and index.html (one self-contained page). The MLflow store is
`$MLFLOW_TRACKING_URI`, else ./mlruns.db. Exit 2 with one line when the
experiment does not exist or has no finished run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m rlx.report", description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", required=True, help="MLflow experiment (a search space's name, or rlx-train)")
    parser.add_argument("--out", help="output folder (default reports/<experiment>)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one bar per score table otherwise
    # mlflow, pandas and matplotlib (~3 s; 11 s on a loaded machine): `--help` and argument errors answer in 0.3 s.
    from rlx.report.build import build_report  # noqa: PLC0415  (see above)
    from rlx.report.html import render_html, render_markdown  # noqa: PLC0415  (see above)
    from rlx.report.load import ReportError, load_experiment  # noqa: PLC0415  (see above)
    from rlx.tracking import default_tracking_uri  # noqa: PLC0415  (see above)

    out = Path(args.out or Path("reports") / args.experiment)
    uri = default_tracking_uri()
    with tempfile.TemporaryDirectory(prefix="rlx-report-") as cache:
        try:
            exp = load_experiment(args.experiment, uri, Path(cache))
        except ReportError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        out.mkdir(parents=True, exist_ok=True)
        report = build_report(exp, out)
        (out / "README.md").write_text(render_markdown(report))
        (out / "index.html").write_text(render_html(report, out))
    n_tables = sum(s.table is not None for s in report.sections)
    n_plots = sum(len(s.images) for s in report.sections)
    print(
        f"report of {len(exp.runs)} runs: {n_tables} tables, {n_plots} plots -> {out}/README.md, "
        f"open {(out / 'index.html').resolve().as_uri()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
