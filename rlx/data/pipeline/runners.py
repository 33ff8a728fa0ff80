"""Where `decode_batch` runs: in the calling process (`iter_local`) or in Ray Data tasks (`build_dataset`).

Same code, same output: `iter_local` serves unit tests, benchmarks and
Ray-free training; `build_dataset` streams an epoch from parallel decode
tasks without materializing decoded frames.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import cv2

from rlx.data.pipeline.batches import Batch, decode_batch, to_columns
from rlx.data.pipeline.skips import SkipLog
from rlx.data.pipeline.spec import PipelineSpec


def iter_local(
    spec: PipelineSpec,
    rows: Sequence[Mapping[str, Any]],
    epoch: int = 0,
    batch_size: int = 8,
    skip_log: SkipLog | None = None,
) -> Iterator[Batch]:
    """In-process batches of `rows` in the given order: no Ray, same output as `build_dataset`.

    Each batch is one `decode_batch` call of `batch_size` rows, so it may hold
    fewer rows when videos were skipped (an all-failed batch is not yielded);
    `rebatch` evens them out.
    """
    for start in range(0, len(rows), batch_size):
        out = decode_batch(to_columns(rows[start : start + batch_size]), spec, epoch, skip_log)
        if len(out["frames"]):
            yield out


def build_dataset(spec: PipelineSpec, rows: Iterable[Mapping[str, Any]], epoch: int = 0, skip_log: Any = None):
    """A lazy Ray Dataset of decoded batches for one epoch (call again for the next epoch).

    `rows` are `index_rows` dicts, already ordered/sharded by `epoch_rows`; rows of several epochs
    (`epochs_rows`) stream all of them, in row order.
    Decoding runs in `spec.num_tasks` CPU tasks of `spec.decode_batch_size`
    videos each; nothing is materialized. Iterate with
    `iter_batches(batch_size=..., batch_format="numpy")` (the `video_id`
    column is strings, which `iter_torch_batches` cannot turn into tensors).
    """
    import ray.data  # noqa: PLC0415  (~1.6 s: `rlx.data.pipeline` is imported on Ray-free paths, e.g. iter_local)

    items = [_plain(r) for r in rows]
    if not items:
        raise ValueError("no rows to build a dataset from")
    # One block per decode batch -> one short task each: tasks of whole blocks (Ray runs a block per
    # task) of a few long videos left one CPU idle at the end of an epoch.
    blocks = -(-len(items) // spec.decode_batch_size)  # ceil
    ds = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
        _ray_decode_batch,
        fn_kwargs={"spec": spec, "epoch": epoch, "skip_log": skip_log},
        batch_size=spec.decode_batch_size,
        batch_format="numpy",
        compute=ray.data.TaskPoolStrategy(size=spec.num_tasks),
        num_cpus=spec.num_cpus,
    )
    keep_tasks_queued(ds.context)  # the dataset's own copy of the DataContext
    if "epoch" in items[0]:
        # Rows of several epochs (`epochs_rows`): `EpochSplitter` cuts the stream where the epoch changes, so
        # blocks must come back in row order, whichever task finishes first.
        ds.context.execution_options.preserve_order = True
    return ds


def keep_tasks_queued(context: Any) -> None:
    """Let more decode tasks be in flight than CPUs are free, so a queued task starts the moment one ends.

    Measured (`python -m rlx.bench data`, 2-core VM): with exactly one ~0.3 s task per CPU,
    a CPU idles 0.1-0.2 s between tasks (the executor's next round, then a worker lease), and
    1.1-1.3 of 2 CPUs decode on average. Ray Data 2.60's ResourceBudget policy forbids the cure
    — it admits tasks only within the CPUs its autoscaling coordinator reserved for the dataset,
    0 at times on a fixed cluster and never more than can run — so the dataset keeps only the
    policies that bound memory: ConcurrencyCap (at most `spec.num_tasks` tasks in flight) and
    DownstreamCapacity (decoded blocks waiting for a slow consumer stay bounded: 9-10 blocks
    with a consumer at 0.5 s per batch, measured). Ray's CPU accounting still bounds how many
    run at once; with `data.loader_tasks` at 2 per decode CPU, 1.8 of 2 CPUs decode.
    """
    from ray.data._internal.execution import backpressure_policy as policies  # noqa: PLC0415  (Ray is pinned)

    context.set_config(
        policies.ENABLED_BACKPRESSURE_POLICIES_CONFIG_KEY,
        [policies.ConcurrencyCapBackpressurePolicy, policies.DownstreamCapacityBackpressurePolicy],
    )


def _ray_decode_batch(batch: Mapping[str, Any], spec: PipelineSpec, epoch: int, skip_log: Any) -> Batch:
    """`decode_batch` in a Ray task: OpenCV single-threaded (parallelism comes from tasks), ids as str."""
    cv2.setNumThreads(1)
    out = decode_batch(batch, spec, epoch, skip_log)
    out["video_id"] = out["video_id"].astype(str)  # arrow string column
    return out


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    """Only what decoding needs, as plain Python types (arrow-friendly); a Charades sample's action too."""
    plain = {
        "video_id": str(row["video_id"]),
        "path": os.fspath(row["path"]),
        "label": int(row["label"]),
        "labels": [int(v) for v in row.get("labels", [row["label"]])],
        "num_frames": int(row.get("num_frames", -1)),
    }
    if "epoch" in row:  # a run over several epochs (rows.epochs_rows)
        plain["epoch"] = int(row["epoch"])
    if "action" in row:
        plain["actions"] = [float(v) for v in row["actions"]]
        plain["duration"] = float(row["duration"])
        plain["action"] = int(row["action"])
    return plain
