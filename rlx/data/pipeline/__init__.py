"""Index rows -> decoded, sampled, augmented uint8 batches: on Ray Data, or in-process.

One function, `decode_batch`, turns a batch of index rows (only paths and
labels) into model input; `build_dataset` runs it in Ray Data tasks
(`map_batches`, `TaskPoolStrategy`) and `iter_local` runs it in the calling
process (unit tests, the CPU benchmark). Same code, same output. One module
per step:

    rows     index DataFrame -> row dicts; per-epoch order and rank shards
    spec     `PipelineSpec`: what one video becomes
    video    one video: its generator, sampled indices, decode, augment, layout
    skips    `SkipLog`: the exact record of dropped videos (plain or Ray actor)
    batches  `decode_batch` (row columns -> model columns) and `rebatch`
    runners  `iter_local` (in-process) and `build_dataset` (Ray Data)

Output batches (numpy, one row per video that decoded):
    frames     uint8   train/val (B, T, L·C, S, S)
               test          (B, V, T, L·C, S, S), V = clips × groups × crops
    label      int64   (B,)  class id; -1 for multi-label rows
    labels     float32 (B, K) multi-hot, only when `spec.multilabel`
    video_id   str     (B,)
    skipped    int32   (B,)  videos of the same decode batch that failed (see below)
L·C channels are snippet-frame-major: RGB L=1 gives (R, G, B); flow gives
(x0, y0, x1, y1, …) as TSN stacks them. Frames stay uint8 (4× less to move)
and are meant to be normalised on the device, e.g. by
`rlx.train.loop.Normalizer(*NORM_STATS[modality])` (rlx.data.transforms).

Test views (the 20-view protocol): a `views` axis, ordered clip-major, then
group, then crop — view v = (clip·G + group)·K + crop, crops in the order
TL, TR, BL, BR, centre. Non-Charades data has one clip: 4 groups × 5 crops.
Charades (`num_clips` = 10) tests every clip the same way (10 × 4 × 5 = 200
views); the loop averages each clip's G·K views and takes the max over clips.

Charades training (`rows.action_rows`, `data.charades_train`): a sample is
one annotated action — T snippets inside it, target the classes active at
the sampled frames (`video.load_action`, `rlx.data.sampling`).

Randomness: each video's generator is seeded from (seed, epoch, crc32(video
id)) — reproducible for a seed, fresh every epoch, independent of which task
or worker decodes the video and of batch composition. It draws the segment
starts first, then the crop and flip. Video *order* is reshuffled per epoch
by `epoch_rows` (a permutation of the rows in the driver, where only paths
live); Ray Data is never asked to shuffle or materialize decoded frames.
Build a new dataset per epoch (`build_dataset(spec, rows, epoch)`): a
dataset executes lazily each time it is iterated. Or stream several epochs
from one dataset, saving a run's start-up per epoch: rows tagged with their
epoch (`epochs_rows`) are decoded as that epoch's, and `EpochSplitter` hands
the batches back epoch by epoch, as per-epoch datasets would have.

Corrupt or missing videos: a `DecodeError` while reading a video (with
`spec.decoder`; one that outlives `spec.decode_timeout_s` is one too) drops its
row, logs a warning naming the file, and is counted twice over:
  * `skipped` column — per output row; a decode batch that lost k videos puts
    k on its first surviving row (0 elsewhere), so summing the column over an
    epoch counts each loss once. The training loop sums it into
    `data/skipped`. A decode batch in which *every* video failed has no row
    to carry its count: keep `decode_batch_size` ≥ 4 so that is rare, and use
    the log below when an exact figure matters.
  * `SkipLog` — exact: every failure with its video id and reason; pass a
    `SkipLog` to `iter_local` or `skip_log_actor()` to `build_dataset`.
Any other exception is a bug and propagates.
"""

from rlx.data.pipeline.batches import Batch, EpochSplitter, decode_batch, rebatch, to_columns
from rlx.data.pipeline.rows import BAD_STATUSES, action_rows, epoch_rows, epochs_rows, index_rows
from rlx.data.pipeline.runners import build_dataset, iter_local
from rlx.data.pipeline.skips import SkipLog, record_skips, skip_log_actor
from rlx.data.pipeline.spec import Mode, PipelineSpec
from rlx.data.pipeline.video import count_frames, load_action, load_video, sample_indices, video_rng, views_layout

__all__ = [
    "BAD_STATUSES",
    "Batch",
    "EpochSplitter",
    "Mode",
    "PipelineSpec",
    "SkipLog",
    "action_rows",
    "build_dataset",
    "count_frames",
    "decode_batch",
    "epoch_rows",
    "epochs_rows",
    "index_rows",
    "iter_local",
    "load_action",
    "load_video",
    "rebatch",
    "record_skips",
    "sample_indices",
    "skip_log_actor",
    "to_columns",
    "video_rng",
    "views_layout",
]
