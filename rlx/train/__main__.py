"""`python -m rlx.train --config FILE.yaml [--set key=value ...] [--resume] [--local]` — one training run.

The config is validated and the dataset located before anything starts: a
wrong key, a bad value or a missing dataset exits 2 with one line that names
it. The run's name comes from the config (or --name), so the same command
with --resume continues the same run and the same MLflow run. `--local` runs
it in this process without Ray (decoding in-process; pdb works).
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
import time
from pathlib import Path

from rlx.config import ConfigError, RunConfig, load_flat_yaml, parse_overrides
from rlx.train.context import RunContext, default_storage, run_exists, run_name_for


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m rlx.train", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="YAML file of config keys (nested sections or dotted keys)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one key (repeatable)")
    parser.add_argument("--name", help="run name (default: from the config file name and a hash of the config)")
    parser.add_argument(
        "--resume", action="store_true", help="continue the run of the same name from its last checkpoint"
    )
    parser.add_argument("--storage", help="checkpoint storage: folder or pyarrow URI (default $RLX_STORAGE or ./runs)")
    parser.add_argument("--experiment", help="MLflow experiment (default: rlx-train)")
    parser.add_argument("--address", help="Ray cluster address (default: a local Ray on this machine)")
    parser.add_argument(
        "--local", action="store_true", help="run in this process without Ray (in-process decoding; pdb works)"
    )
    parser.add_argument("--no-mlflow", action="store_true", help="with --local: record nothing in MLflow")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Imported after argument parsing: torch, pandas and the data stack cost seconds, `--help` none of them.
    from rlx.tracking import default_tracking_uri  # noqa: PLC0415  (mlflow: ~1.7 s)
    from rlx.train.accounting import IncompleteTestSet, read_status, summary_lines  # noqa: PLC0415
    from rlx.train.init_from import InitFromError  # noqa: PLC0415  (torch: ~2 s)
    from rlx.train.init_source import resolve_init_from  # noqa: PLC0415
    from rlx.train.prepare import DatasetNotFound, prepare_dataset  # noqa: PLC0415

    try:
        if args.no_mlflow and not args.local:
            raise ConfigError("--no-mlflow needs --local (a Ray Train run always records its metrics in MLflow)")
        flat = {**load_flat_yaml(args.config), **parse_overrides(args.set)}
        cfg = RunConfig.from_flat(flat)
        name = args.name or run_name_for(cfg.to_flat(), prefix=Path(args.config).stem)
        storage = args.storage or default_storage()
        if "://" not in storage:
            storage = str(Path(storage).resolve())
        elif args.local:
            raise ConfigError(f"--local keeps checkpoints in a folder: --storage {storage} is a URI")
        if run_exists(storage, name) and not args.resume:
            raise ConfigError(
                f"run {name} already exists in {storage}: pass --resume to continue it, or --name for a new run"
            )
        cfg = resolve_init_from(cfg, default_tracking_uri())  # an MLflow run id -> its checkpoint folder
        print(f"preparing data: {cfg.data.dataset} split {cfg.data.split} ({cfg.data.modality})", flush=True)
        dataset_dir = prepare_dataset(cfg.data)
        for line in summary_lines(read_status(dataset_dir), dataset_dir):  # what the run leaves out, every run
            print(f"  {line}", flush=True)
    except (ConfigError, DatasetNotFound, IncompleteTestSet, InitFromError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    ctx = RunContext(
        name=name,
        storage=storage,
        tracking_uri=default_tracking_uri(),
        experiment=args.experiment or "rlx-train",
        dataset_dir=str(dataset_dir),
        command=command_line(args, name),
    )
    start = time.perf_counter()
    if args.local:
        from rlx.train.local import run_local  # noqa: PLC0415  (no Ray import on this path)

        final = run_local(cfg, ctx, track=not args.no_mlflow)
    else:
        try:
            final = _run_on_ray(cfg, ctx, args.address)
        except RunFailed as err:
            print(f"run {name} failed after {time.perf_counter() - start:.0f} s: {err}", file=sys.stderr)
            print("rerun the same command with --resume to continue from its last checkpoint", file=sys.stderr)
            return 1
    seconds = time.perf_counter() - start
    shown = {k: v for k, v in final.items() if k.startswith(("test/", "val/top1", "val/mAP"))}
    print(f"run {name} finished in {seconds:.0f} s: " + ", ".join(f"{k}={v:.4g}" for k, v in sorted(shown.items())))
    print(f"checkpoints: {ctx.checkpoint_root}")
    if not args.no_mlflow:
        print(
            f"MLflow: {ctx.tracking_uri} (experiment {ctx.experiment}, run {name}); "
            f"view with: mlflow ui --backend-store-uri {ctx.tracking_uri} --host 127.0.0.1"
        )
    return 0


class RunFailed(RuntimeError):
    """Ray Train gave up on the run (its restarts are used up)."""


def _run_on_ray(cfg: RunConfig, ctx: RunContext, address: str | None) -> dict[str, float]:
    """The run on Ray Train; its final metrics as MLflow recorded them."""
    # Ray and the Train stack (several seconds) only on this path, not for --local or a config error.
    import ray  # noqa: PLC0415
    from ray.train import TrainingFailedError  # noqa: PLC0415

    from rlx.tracking import find_run  # noqa: PLC0415
    from rlx.train.driver import run_training  # noqa: PLC0415

    if not ray.is_initialized():
        # "local" starts a private Ray even when a stale cluster address file exists (RAY_NOTES.md).
        ray.init(address=address or "local", dashboard_host="127.0.0.1", configure_logging=False)
    try:
        result = run_training(cfg, ctx)
    except TrainingFailedError as err:
        raise RunFailed(str(err)) from err
    tracked = find_run(ctx.experiment, ctx.name, ctx.tracking_uri)
    return tracked.client.get_run(tracked.run_id).data.metrics if tracked else dict(result.metrics or {})


def command_line(args: argparse.Namespace, name: str) -> str:
    """The command line that reproduces this run (kept in MLflow; reports print it)."""
    parts = ["python", "-m", "rlx.train", "--config", args.config, *[f"--set={s}" for s in args.set], "--name", name]
    if args.experiment:
        parts += ["--experiment", args.experiment]
    if args.local:
        parts.append("--local")
    return shlex.join(parts)


if __name__ == "__main__":
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    sys.exit(main())
