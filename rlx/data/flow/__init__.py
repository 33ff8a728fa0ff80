"""Optical flow extraction to the TSN flow_x_/flow_y_ JPEG layout, one video per Ray task.

For a video with N frames, `OUT/<video_id>/` receives N-1 pairs
`flow_x_00001.jpg`, `flow_y_00001.jpg`, ... (1-based; pair k is the flow from
frame k-1 to frame k, 0-based), the layout `rlx.data.decode.read_rawframes`
reads and the one TSN / mmaction2's denseflow write. One module per step:

    fields  TV-L1 / Farneback flow between frames; 8-bit quantisation
    video   one video -> its folder of JPEG pairs, atomically, chunk by chunk
    job     many videos: resume, clean-up, Ray tasks or a process pool, summary
"""

from rlx.data.flow.fields import (
    ALGORITHMS,
    DEFAULT_BOUND,
    FlowAlgorithm,
    check_bound,
    compute_flow,
    dequantize_flow,
    estimator,
    flow_between,
    quantize_flow,
    to_gray,
)
from rlx.data.flow.job import FlowSummary, extract_index, extract_videos, jobs_from_index
from rlx.data.flow.video import (
    CHUNK_FRAMES,
    DONE_MARKER,
    JPEG_QUALITY,
    TMP_PREFIX,
    FlowJob,
    VideoResult,
    extract_in_worker,
    extract_video,
    is_done,
)
from rlx.data.video_jobs import clean_stale_tmp

__all__ = [
    "ALGORITHMS",
    "CHUNK_FRAMES",
    "DEFAULT_BOUND",
    "DONE_MARKER",
    "JPEG_QUALITY",
    "TMP_PREFIX",
    "FlowAlgorithm",
    "FlowJob",
    "FlowSummary",
    "VideoResult",
    "check_bound",
    "clean_stale_tmp",
    "compute_flow",
    "dequantize_flow",
    "estimator",
    "extract_in_worker",
    "extract_index",
    "extract_video",
    "extract_videos",
    "flow_between",
    "is_done",
    "jobs_from_index",
    "quantize_flow",
    "to_gray",
]
