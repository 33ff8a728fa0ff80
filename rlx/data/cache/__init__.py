"""The training cache: every video of an index rewritten once into a form the TSN access pattern reads fast.

`python -m rlx.data cache --index ... --out DIR` writes `DIR/videos/` (the
cached videos), `DIR/index.parquet` (same ids, labels, splits, with the
cached frame counts) and `DIR/failed.csv`; training reads it with
`data.index=DIR/index.parquet data.videos=DIR/videos` (rlx.train.prepare picks
the layout from the index's media). Frame k of a cached video is frame k of
the original (all decodable frames, PyAV, in order), so sampled indices mean
the same frames. One module per step:

    formats   parameters, cached size, source frames, the JPEG and H.264 writers
    video     one video -> its cached form, atomically
    (runners: rlx.data.video_jobs — serial / process pool / Ray tasks, one progress bar with ETA, shared with flow)
    job       many videos: resume, clean-up, the cache index, failed.csv, summary

Formats, measured by `python -m rlx.bench data` (rlx.bench.data_cache: the
full train path `load_video`, RGB T = 8 -> 224², same clips and indices, one
core; the 13 real clips of datasets-meta: 8 Xvid AVIs, 7 of them UCF-101, and
5 H.264 MP4s; 30 Nov 2026, this shared 2-core VM at load average 4-6):

    jpeg (default)  TSN rawframes at short side 256, quality 95: 103.6 videos/s vs 14.7 for the
                    originals, 7.1x (11.9x in a standalone run: 153 vs 12.9); 9.8x the originals'
                    bytes (4.5 MB vs 0.46 MB per clip); PSNR 43.9 dB mean, 39.1 dB worst clip;
                    0.4 s per clip to write
    h264            libx264 crf 18, keyframe every 8 frames, no B-frames, fastdecode, short side 256:
                    30.8 videos/s with decord, 2.1x (17.4 with pyav, 1.2x); 1.7x the originals'
                    bytes (5.8x less than JPEG); PSNR 39.1 dB mean, 36.4 dB worst; 1.6 s per clip

JPEG is the default: it is the only one past the >= 3x goal (3.4x H.264's
speed), and it reads with OpenCV whatever `data.decoder` says. H.264 needs a
seeking decoder (`data.decoder=decord`) to gain anything (PyAV, the default
decoder, decodes from the start), costs ~4x more CPU to write, and even at a
keyframe every 1-2 frames reached only ~47 videos/s in a side run; it is the
choice when disk, not CPU, is what is short.

RGB only: optical flow from `rlx.data flow` is already TSN JPEG rawframes
(and computed at the size it was extracted at); a flow dataset is refused.
"""

from rlx.data.cache.formats import FORMATS, CacheFormat, CacheParams, cached_size, resize_to, source_frames
from rlx.data.cache.job import FAILED_CSV, PARAMS_JSON, CacheSummary, cache_index, cache_videos, read_source
from rlx.data.cache.video import DONE_MARKER, TMP_PREFIX, CacheJob, VideoResult, cache_video, done_frames

__all__ = [
    "DONE_MARKER",
    "FAILED_CSV",
    "FORMATS",
    "PARAMS_JSON",
    "TMP_PREFIX",
    "CacheFormat",
    "CacheJob",
    "CacheParams",
    "CacheSummary",
    "VideoResult",
    "cache_index",
    "cache_video",
    "cache_videos",
    "cached_size",
    "done_frames",
    "read_source",
    "resize_to",
    "source_frames",
]
