"""`python -m rlx.tune --space FILE [--dry-run] [--resume] [--storage URI] [--set key=value ...]`

Validates the space before Ray starts (exit 2 with the file, key and reason),
prints the plan, then runs one Tuner per group of the axes and ends with the
best configuration of every group. `--set` overrides `fixed` keys (e.g. to
shrink a space for a quick check).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from rlx.config import ConfigError, parse_overrides
from rlx.tune.placement import load_cluster, place_groups
from rlx.tune.plan import describe
from rlx.tune.space import SpaceError, apply_overrides, load_space


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m rlx.tune", description=__doc__.splitlines()[0])
    parser.add_argument("--space", required=True, help="search-space YAML (tune_spaces/*.yaml)")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the plan and the GPU-hour estimate; start nothing"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue an interrupted search (finished trials are kept)"
    )
    parser.add_argument(
        "--storage", help="results and checkpoints: folder or pyarrow URI (default $RLX_STORAGE or ./runs)"
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a fixed key (repeatable)"
    )
    parser.add_argument(
        "--address", help="Ray cluster address (default: the cluster of `ray job submit`, else a local Ray)"
    )
    parser.add_argument(
        "--cluster",
        metavar="FILE",
        help="plan for this cluster (launcher YAML, KubeRay manifest or node_types YAML/JSON): "
        "resources are checked against its node types, the plan says which node type each "
        "trial lands on; with --dry-run, data paths are not checked here (they are the cluster's)",
    )
    parser.add_argument(
        "--report-dir",
        metavar="DIR",
        help="also write the search's report (the one logged to MLflow) into DIR, as `python -m rlx.report "
        "--out DIR` would: one report instead of two",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The report at the end reads every trial's score tables: one progress bar per file otherwise.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        cluster = load_cluster(args.cluster) if args.cluster else None
        space = load_space(
            args.space, check_data=not (cluster and args.dry_run), cluster=cluster.largest_node() if cluster else None
        )
        overrides = parse_overrides(args.set)
        if overrides:
            space = apply_overrides(space, overrides)
        if cluster:
            place_groups(space, cluster)  # a trial no node type holds: exit 2 here, naming space and cluster
    except (SpaceError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    plan = describe(space, cluster)
    print(plan, flush=True)
    if args.dry_run:
        return 0
    # Ray, MLflow, torch: seconds that --help, a rejected space and --dry-run never pay.
    from rlx.tune.search import SearchOptions, run_search  # noqa: PLC0415

    options = SearchOptions(
        storage=args.storage,
        resume=args.resume,
        address=args.address,
        cluster_file=args.cluster,
        overrides=tuple(args.set),
        report_dir=args.report_dir,
    )
    try:
        return run_search(space, plan, options)
    except SpaceError as err:  # found once Ray is up: a trial larger than this machine
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
