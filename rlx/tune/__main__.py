"""`python -m rlx.tune --space FILE [--dry-run] [--resume] [--storage URI] [--set key=value ...]`

Validates the space before Ray starts (exit 2 with the file, key and reason),
prints the plan, then runs one Tuner per group of the axes and ends with the
best configuration of every group. `--set` overrides `fixed` keys (e.g. to
shrink a space for a quick check).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import shlex
import sys
import time
from pathlib import Path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m rlx.tune", description=__doc__.splitlines()[0])
    parser.add_argument("--space", required=True, help="search-space YAML (tune_spaces/*.yaml)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and the GPU-hour estimate; start nothing")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted search (finished trials are kept)")
    parser.add_argument("--storage", help="results and checkpoints: folder or pyarrow URI (default $RLX_STORAGE or ./runs)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a fixed key (repeatable)")
    parser.add_argument("--address", help="Ray cluster address (default: the cluster of `ray job submit`, else a local Ray)")
    parser.add_argument("--cluster", metavar="FILE",
                        help="plan for this cluster (launcher YAML, KubeRay manifest or node_types YAML/JSON): "
                             "resources are checked against its node types, the plan says which node type each "
                             "trial lands on; with --dry-run, data paths are not checked here (they are the cluster's)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from rlx.config import ConfigError, parse_overrides
    from rlx.tune.placement import load_cluster, place_groups
    from rlx.tune.plan import describe
    from rlx.tune.space import SpaceError, load_space

    try:
        cluster = load_cluster(args.cluster) if args.cluster else None
        space = load_space(args.space, check_data=not (cluster and args.dry_run),
                           cluster=cluster.largest_node() if cluster else None)
        overrides = parse_overrides(args.set)
        if overrides:
            space = _override(space, overrides)
        if cluster:
            place_groups(space, cluster)  # a trial no node type holds: exit 2 here, naming space and cluster
    except (SpaceError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    plan = describe(space, cluster)
    print(plan, flush=True)
    if args.dry_run:
        return 0
    return run(space, plan, args)


def _override(space, overrides: dict):
    from rlx.tune.space import SpaceError, load_space  # noqa: F401  (same validation path)

    from rlx.tune.space import RESOURCE_CONFIG_KEYS

    clash = sorted(set(overrides) & (set(space.axes) | set(space.search) | set(RESOURCE_CONFIG_KEYS)))
    if clash:
        raise SpaceError(f"{space.path}: --set {clash[0]}: the key is an axis or searched; only fixed keys can be set (resources: edit the space)")
    updated = dataclasses.replace(space, fixed={**space.fixed, **overrides})
    from rlx.tune.space import _check_values, _check_metric

    def fail(key, reason):
        return SpaceError(f"{space.path} (with --set): {key}: {reason}")

    _check_values(updated, fail)
    _check_metric(updated, fail)
    return updated


def run(space, plan: str, args: argparse.Namespace) -> int:
    import ray

    from rlx.tracking import default_tracking_uri, open_run
    from rlx.train.data import prepare_dataset
    from rlx.train.context import default_storage
    from rlx.tune.run import TrialBase, max_concurrent_trials, restart_problem, run_group, space_digest, summarize

    storage = args.storage or default_storage()
    if "://" not in storage:
        storage = str(Path(storage).resolve())
    uri = default_tracking_uri()
    digest = space_digest(space)
    problem = restart_problem(space, args.resume, storage, uri, digest)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    address = args.address or os.environ.get("RAY_ADDRESS") or "local"
    if not ray.is_initialized():
        ray.init(address=address, dashboard_host="127.0.0.1", configure_logging=False) if address == "local" \
            else ray.init(address=address, configure_logging=False)
    cluster = ray.cluster_resources()
    concurrency = max_concurrent_trials(space, cluster)
    print(f"cluster: {cluster.get('CPU', 0):g} CPUs, {cluster.get('GPU', 0):g} GPUs -> up to {concurrency} trial(s) at once",
          flush=True)
    if args.cluster:
        # An autoscaling cluster starts as its head alone (0 GPUs): size concurrency by the node types the
        # autoscaler may start instead, as the cluster file describes them.
        from rlx.tune.placement import load_cluster, place_groups

        placements = place_groups(space, load_cluster(args.cluster))
        concurrency = max(concurrency, min(p.max_concurrent_trials for p in placements.values()))
        print(f"cluster file {args.cluster}: up to {concurrency} trial(s) at once once the autoscaler has started "
              "its nodes", flush=True)

    parent = open_run(space.name, f"search-{space.name}", run_name=f"search {space.name}", tracking_uri=uri,
                      tags={"rlx.kind": "search", "rlx.space": space.path, "rlx.space_digest": digest})
    parent.log_artifact(Path(space.path), "space")
    parent.log_text(plan, "plan.txt")
    command = shlex.join(["python", "-m", "rlx.tune", "--space", space.path, *[f"--set={s}" for s in args.set]])
    parent.set_tags({"rlx.command": command})
    start = time.perf_counter()
    summaries = []
    for group in space.groups():
        print(f"\n=== group {group.key or 'all'}: {space.trials_per_group()} trial(s) ===", flush=True)
        dataset_dir = prepare_dataset(space.sample_config(group).data)
        base = TrialBase(space.name, group.slug, storage, uri, str(dataset_dir), parent.run_id,
                         group_key=group.key, command=command)
        results = run_group(space, group, base, args.resume, concurrency)
        summaries.append(summarize(space, group, results))
    fused = []
    if space.fusion_step:
        from rlx.tune.fusion import FusionContext, run_fusion

        fused = run_fusion(space, FusionContext(space.name, parent.run_id, uri, space.fusion_step, command), storage)
    seconds = time.perf_counter() - start
    parent.log_text(json.dumps({"groups": summaries, "fusion": fused}, indent=1, default=str), "summary.json")
    parent.log_metrics({"search/seconds": seconds, "search/trials": sum(s["trials"] for s in summaries)}, step=0)
    errors = sum(s["errors"] for s in summaries) + sum(1 for f in fused if f["error"])
    parent.finish("FINISHED" if not errors else "FAILED")
    print(f"\nsearch {space.name} finished in {seconds / 60:.1f} min; best per group ({space.metric}, {space.mode}):")
    for s in summaries:
        value = s[space.metric]
        print(f"  {s['group']}: {space.metric}={value:.4f} with {s['best']}" if value is not None
              else f"  {s['group']}: no result")
    for f in fused:
        metric = next((k for k in ("test/top1", "test/mAP") if f.get(k) is not None), None)
        print(f"  two-stream {f['group']}: RGB weight {f.get('fusion/weight_rgb')} (chosen on validation) -> "
              f"{metric}={f.get(metric) if metric else 'n/a'}; test-optimal weight {f.get('fusion/test_optimal_weight_rgb')} "
              f"({f['pairing']})" if not f["error"] else f"  two-stream {f['group']}: failed: {f['error']}")
    print(f"MLflow experiment {space.name} at {uri}; view with: mlflow ui --backend-store-uri {uri} --host 127.0.0.1")
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
