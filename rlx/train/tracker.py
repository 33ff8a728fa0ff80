"""The MLflow run of one training run: opened with its params, tags and dataset input.

On Ray Train, rank 0 opens it in a thread (`rlx.train.background`) while the
first epoch trains.

The prepared dataset is the run's MLflow dataset input: named by dataset,
split and modality, its digest that of the prepared index file, its profile
the subset sizes and the classes. What it leaves out (missing, corrupt, too
short videos) is logged with every run: the metrics `data/excluded/train`,
`data/excluded/val`, `data/excluded/test` and the artifact `data/excluded.csv`.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections import Counter
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq
import torch
import yaml

from rlx.config import DataConfig, RunConfig
from rlx.tracking import RunTracker, open_run
from rlx.train import accounting
from rlx.train.context import RunContext


def open_run_tracker(cfg: RunConfig, ctx: RunContext, runner: Literal["ray", "local"] = "ray") -> RunTracker:
    """The run's MLflow run (created, or continued when resumed), with params, system tags and the config.

    `runner` is "ray" (Ray Train workers) or "local" (one process, `python -m rlx.train --local`).
    """
    tracker = open_run(
        ctx.experiment,
        ctx.name,
        parent_run_id=ctx.parent_run_id or None,
        tracking_uri=ctx.tracking_uri,
        tags={"rlx.kind": ctx.run_kind, "rlx.dataset": cfg.data.dataset},
    )
    flat = cfg.to_flat()
    tracker.log_params(flat)
    tracker.set_tags(
        {
            "rlx.torch": torch.__version__,
            "rlx.ray": version("ray"),
            "rlx.device": torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or "cpu",
            "rlx.num_workers": cfg.train.num_workers if runner == "ray" else 1,
            "rlx.runner": runner,
            "rlx.storage": str(Path(ctx.storage) / ctx.name),
            **({"rlx.group": ctx.group} if ctx.parent_run_id else {}),
            **({"rlx.command": ctx.command} if ctx.command else {}),
            **ctx.tags,
        }
    )
    tracker.log_text(yaml.safe_dump(flat, sort_keys=True), "config/resolved.yaml")
    dataset = describe_prepared(Path(ctx.dataset_dir), cfg.data)
    tracker.log_dataset(dataset.name, dataset.digest, dataset.source, dataset.profile, dataset.columns)
    log_excluded(tracker, Path(ctx.dataset_dir))
    class_map = Path(ctx.dataset_dir) / "class_map.json"
    if class_map.is_file():  # new class id -> source id and name (a data.classes subset renumbers them)
        tracker.log_text(class_map.read_text(), "data/class_map.json")
    return tracker


def log_excluded(tracker: RunTracker, folder: Path) -> None:
    """What the prepared dataset leaves out: metrics `data/excluded/{train,val,test}`, artifact `data/excluded.csv`."""
    tracker.log_metrics(accounting.excluded_metrics(accounting.read_excluded(folder)), step=0)
    tracker.log_artifact(folder / accounting.EXCLUDED_CSV, "data")


# MLflow's column types of the index's Arrow types; any other shows as Arrow names it.
_MLFLOW_TYPES = {"string": "string", "int32": "integer", "int64": "long", "float": "float", "double": "double"}
_MLFLOW_TYPES |= {"bool": "boolean", "binary": "binary", "large_string": "string"}


@dataclass(frozen=True)
class PreparedDataset:
    """A prepared dataset folder (rlx.train.prepare) as an MLflow dataset input."""

    name: str  # e.g. "ucf101-split1", "ucf101-split1-flow"
    digest: str  # first 16 hex digits of the sha256 of index.parquet
    source: str  # the prepared folder
    profile: dict[str, Any]
    columns: tuple[tuple[str, str], ...]  # (column of the index, MLflow type)


def describe_prepared(folder: Path, data: DataConfig) -> PreparedDataset:
    """Name, digest, profile and schema of the prepared dataset in `folder`, which `data` was prepared into."""
    index_path = folder / "index.parquet"
    table = pq.read_table(index_path, columns=["subset"])
    subsets = Counter(table.column("subset").to_pylist())
    classes = (folder / "classes.txt").read_text().splitlines()
    source = json.loads((folder / "source.json").read_text())
    suffix = "" if data.modality == "rgb" else f"-{data.modality}"
    profile = {
        "dataset": data.dataset,
        "split": data.split,
        "modality": data.modality,
        "videos": table.num_rows,
        "subsets": {name: subsets.get(name, 0) for name in ("train", "val", "test")},
        "num_classes": len(classes),
        "classes_sha256": hashlib.sha256("\n".join(classes).encode()).hexdigest()[:16],
        "classes": classes,
        "frames_root": source.get("root", ""),
    }
    schema = pq.read_schema(index_path)
    return PreparedDataset(
        name=f"{data.dataset}-split{data.split}{suffix}",
        digest=hashlib.sha256(index_path.read_bytes()).hexdigest()[:16],
        source=str(folder),
        profile=profile,
        columns=tuple((field.name, _mlflow_type(field.type)) for field in schema),
    )


def _mlflow_type(arrow_type: pa.DataType) -> str:
    return _MLFLOW_TYPES.get(str(arrow_type), str(arrow_type))
