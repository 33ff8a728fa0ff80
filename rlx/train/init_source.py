"""Resolve `model.init_from` in the launcher: an MLflow run id becomes that run's checkpoint folder.

Workers see neither the launcher's MLflow store nor its working directory, so
the launcher turns the key into an absolute checkpoint path before a run
starts (`rlx.train.init_from` then loads it on every rank). A run id is
accepted as `runs:/<id>` or as the bare 32-hex id MLflow shows; the run's
`rlx.checkpoint` tag (set when a training run finishes) names its folder.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from mlflow.exceptions import MlflowException

from rlx.config import RunConfig, init_from_group
from rlx.tracking import run_record
from rlx.train.init_from import InitFromError, checkpoint_file

RUN_ID = re.compile(r"[0-9a-f]{32}")


def resolve_init_from(cfg: RunConfig, tracking_uri: str) -> RunConfig:
    """`cfg` with `model.init_from` as an absolute checkpoint path (unchanged when empty); errors name the key."""
    value = cfg.model.init_from
    if not value:
        return cfg
    if init_from_group(value) is not None:
        raise InitFromError(f"model.init_from: {value!r} names a search group: only rlx.tune resolves it")
    run_id = value.removeprefix("runs:/").strip("/") if value.startswith("runs:/") else None
    if run_id is None and RUN_ID.fullmatch(value) and not Path(value).exists():
        run_id = value
    if run_id is None:
        path = Path(value).expanduser().resolve()
    else:
        try:
            tags = run_record(run_id, tracking_uri).tags
        except MlflowException as err:
            raise InitFromError(f"model.init_from: no MLflow run {run_id} at {tracking_uri} ({err.message})") from None
        if "rlx.checkpoint" not in tags:
            raise InitFromError(f"model.init_from: MLflow run {run_id} has no rlx.checkpoint tag (it never finished)")
        path = Path(tags["rlx.checkpoint"])
    checkpoint_file(path)  # fails here, in the launcher, when there is no checkpoint
    return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, init_from=str(path)))
