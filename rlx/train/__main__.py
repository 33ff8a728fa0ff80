"""`python -m rlx.train --config FILE.yaml [--set key=value ...] [--resume]` — one training run.

The config is validated and the dataset located before Ray starts: a wrong
key, a bad value or a missing dataset exits 2 with one line that names it.
The run's name comes from the config (or --name), so the same command with
--resume continues the same Ray Train run and the same MLflow run.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from rlx.config import ConfigError, RunConfig, load_flat_yaml, parse_overrides


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m rlx.train", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="YAML file of config keys (nested sections or dotted keys)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one key (repeatable)")
    parser.add_argument("--name", help="run name (default: from the config file name and a hash of the config)")
    parser.add_argument("--resume", action="store_true", help="continue the run of the same name from its last checkpoint")
    parser.add_argument("--storage", help="checkpoint storage: folder or pyarrow URI (default $RLX_STORAGE or ./runs)")
    parser.add_argument("--experiment", help="MLflow experiment (default: rlx-train)")
    parser.add_argument("--address", help="Ray cluster address (default: a local Ray on this machine)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from rlx.train.data import DatasetNotFound, prepare_dataset
    from rlx.train.driver import RunContext, default_storage, run_exists, run_name_for

    try:
        flat = {**load_flat_yaml(args.config), **parse_overrides(args.set)}
        cfg = RunConfig.from_flat(flat)
        name = args.name or run_name_for(cfg.to_flat(), prefix=Path(args.config).stem)
        storage = args.storage or default_storage()
        if "://" not in storage:
            storage = str(Path(storage).resolve())
        if run_exists(storage, name) and not args.resume:
            raise ConfigError(f"run {name} already exists in {storage}: pass --resume to continue it, or --name for a new run")
        print(f"preparing data: {cfg.data.dataset} split {cfg.data.split} ({cfg.data.modality})", flush=True)
        dataset_dir = prepare_dataset(cfg.data)
    except (ConfigError, DatasetNotFound) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    from rlx.tracking import default_tracking_uri

    ctx = RunContext(
        name=name,
        storage=storage,
        tracking_uri=default_tracking_uri(),
        experiment=args.experiment or "rlx-train",
        dataset_dir=str(dataset_dir),
        command=_command(args, name),
    )
    import ray

    if not ray.is_initialized():
        # "local" starts a private Ray even when a stale cluster address file exists (RAY_NOTES.md).
        ray.init(address=args.address or "local", dashboard_host="127.0.0.1", configure_logging=False)
    start = time.perf_counter()
    from rlx.train.driver import run_training

    from ray.train import TrainingFailedError

    try:
        result = run_training(cfg, ctx)
    except TrainingFailedError as err:
        print(f"run {name} failed after {time.perf_counter() - start:.0f} s: {err}", file=sys.stderr)
        print(f"rerun the same command with --resume to continue from its last checkpoint", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - start
    from rlx.tracking import find_run

    tracked = find_run(ctx.experiment, name, ctx.tracking_uri)
    final = tracked.client.get_run(tracked.run_id).data.metrics if tracked else (result.metrics or {})
    shown = {k: v for k, v in final.items() if k.startswith(("test/", "val/top1", "val/mAP"))}
    print(f"run {name} finished in {seconds:.0f} s: " + ", ".join(f"{k}={v:.3f}" for k, v in sorted(shown.items())))
    print(f"checkpoints: {Path(storage) / name if '://' not in storage else storage + '/' + name}")
    print(f"MLflow: {ctx.tracking_uri} (experiment {ctx.experiment}, run {name}); "
          f"view with: mlflow ui --backend-store-uri {ctx.tracking_uri} --host 127.0.0.1")
    return 0


def _command(args: argparse.Namespace, name: str) -> str:
    """The command line that reproduces this run (kept in MLflow; reports print it)."""
    import shlex

    parts = ["python", "-m", "rlx.train", "--config", args.config, *[f"--set={s}" for s in args.set], "--name", name]
    if args.experiment:
        parts += ["--experiment", args.experiment]
    return shlex.join(parts)


if __name__ == "__main__":
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    sys.exit(main())
