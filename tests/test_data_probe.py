"""rlx.data.probe, end to end on a temp videos root (the `index` / `check` commands: test_data_main.py).

The root holds one good clip, one too short, garbage bytes, a zero-byte file,
a rawframes folder, and one listed video that does not exist.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rlx.data import probe, splits

LISTED = {
    "Good/v_Good_g01_c01.avi": "ok",
    "Good/v_Good_g01_c02.avi": "too_short",
    "Bad/v_Bad_g01_c01.avi": "corrupt",  # garbage bytes
    "Bad/v_Bad_g01_c02.avi": "corrupt",  # zero bytes
    "Bad/v_Bad_g01_c03.avi": "missing",
    "Raw/v_Raw_g01_c01.avi": "ok",  # a rawframes folder Raw/v_Raw_g01_c01/
}


def write_clip(path: Path, num_frames: int, size: tuple[int, int] = (32, 64)) -> Path:
    """An MPEG-4 Part 2 AVI (the UCF-101 format) of `num_frames` gray levels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.height, stream.width = size
        stream.pix_fmt = "yuv420p"
        for i in range(num_frames):
            image = np.full((*size, 3), 10 * i, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_noise_clip(path: Path, num_frames: int, size: tuple[int, int] = (32, 64)) -> Path:
    """An MPEG-4 AVI of random frames: every frame costs bytes, so a cut file loses frames, not only its index."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(num_frames)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.height, stream.width = size
        stream.pix_fmt = "yuv420p"
        for _ in range(num_frames):
            image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_annotations(root: Path, train: list[str], test: list[str]) -> Path:
    """A UCF-101-format annotation folder (CRLF) for the given class folders."""
    root.mkdir(parents=True, exist_ok=True)
    classes = sorted({p.split("/")[0] for p in train + test}, key=str.lower)
    (root / "classInd.txt").write_bytes("".join(f"{i + 1} {c}\r\n" for i, c in enumerate(classes)).encode())
    lines = [f"{p} {classes.index(p.split('/')[0]) + 1}\r\n" for p in train]
    (root / "trainlist01.txt").write_bytes("".join(lines).encode())
    (root / "testlist01.txt").write_bytes("".join(f"{p}\r\n" for p in test).encode())
    return root


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("videos")
    write_clip(root / "Good/v_Good_g01_c01.avi", 10)
    write_clip(root / "Good/v_Good_g01_c02.avi", 2)
    (root / "Bad").mkdir()
    (root / "Bad/v_Bad_g01_c01.avi").write_bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes())
    (root / "Bad/v_Bad_g01_c02.avi").write_bytes(b"")
    raw = root / "Raw/v_Raw_g01_c01"
    raw.mkdir(parents=True)
    for i in range(6):
        cv2.imwrite(str(raw / f"img_{i + 1:05d}.jpg"), np.full((32, 64, 3), 20 * i, np.uint8))
    return root


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    paths = list(LISTED)
    annotations = write_annotations(tmp_path_factory.mktemp("ann") / "ucf", paths[:4], paths[4:])
    return splits.build_index("ucf101", annotations)


@pytest.fixture(scope="module")
def probed(index: pd.DataFrame, videos: Path) -> pd.DataFrame:
    return probe.probe_index(index, videos, min_frames=5, workers=2)


def test_probe_statuses_frames_and_fps(probed: pd.DataFrame) -> None:
    rows = probed.set_index("path")
    assert rows["status"].to_dict() == LISTED
    assert rows.loc["Good/v_Good_g01_c01.avi", "num_frames"] == 10
    assert rows.loc["Good/v_Good_g01_c01.avi", "fps"] == 25.0
    assert rows.loc["Good/v_Good_g01_c02.avi", "num_frames"] == 2
    assert rows.loc["Raw/v_Raw_g01_c01.avi", "num_frames"] == 6 and np.isnan(rows.loc["Raw/v_Raw_g01_c01.avi", "fps"])
    assert pd.isna(rows.loc["Bad/v_Bad_g01_c03.avi", "num_frames"])
    assert "0 bytes" in rows.loc["Bad/v_Bad_g01_c02.avi", "probe_error"]
    assert probed["num_frames"].dtype == pd.Int32Dtype() and probed["fps"].dtype == np.float32
    assert probed.attrs["classes"] == ["Bad", "Good", "Raw"]


def test_describe_status_counts_and_lists_bad_videos(probed: pd.DataFrame) -> None:
    summary = "status of 6 videos: ok 2, missing 1, corrupt 2, too_short 1"
    assert probe.describe_status(probed) == summary
    lines = probe.describe_status(probed, list_bad=True).splitlines()
    assert lines[0] == summary and len(lines) == 5
    assert any(line.split()[:2] == ["missing", "Bad/v_Bad_g01_c03.avi"] for line in lines)
    assert any(line.split()[:2] == ["too_short", "Good/v_Good_g01_c02.avi"] and "2 frames" in line for line in lines)


def test_probed_index_round_trips_through_parquet(probed: pd.DataFrame, tmp_path: Path) -> None:
    out = splits.write_index(probed, tmp_path / "probed.parquet")
    back = splits.read_index(out)
    pd.testing.assert_frame_equal(back, probed, check_dtype=False)
    assert back["num_frames"].dtype == pd.Int32Dtype()
    assert pq.read_schema(out).field("probe_error").type == pa.string()


def test_probe_one_runs_in_process(videos: Path) -> None:
    assert probe.probe_one(videos / "Raw/v_Raw_g01_c01").num_frames == 6  # the folder itself
    assert probe.probe_one(videos / "Good/v_Good_g01_c01.avi", min_frames=11).status == "too_short"
    assert probe.probe_one(videos / "nowhere.avi").status == "missing"


def test_probe_needs_an_existing_videos_root(index: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="videos root"):
        probe.probe_index(index, tmp_path / "absent")


def crash_on_marked_video(job: probe.ProbeJob) -> probe.ProbeResult:
    """Stands in for a decoder that segfaults on one file."""
    if job.path.endswith("crash.avi"):
        os._exit(11)
    return probe.ProbeResult(job.row, "ok", 1, 25.0)


def test_a_worker_crash_marks_only_the_culprit_corrupt() -> None:
    jobs = [probe.ProbeJob(i, f"/v/{name}.avi", 1) for i, name in enumerate(["a", "b", "crash", "c", "d"])]
    results = probe.run_all(jobs, workers=2, task=crash_on_marked_video)
    assert [results[i].status for i in range(5)] == ["ok", "ok", "corrupt", "ok", "ok"]
    assert "crashed" in results[2].error


def hang_on_marked_video(job: probe.ProbeJob) -> probe.ProbeResult:
    """Stands in for a decoder stuck in a loop on one file."""
    if job.path.endswith("hang.avi"):
        time.sleep(3600)
    return probe.ProbeResult(job.row, "ok", 1, 25.0)


def test_a_stuck_decoder_times_out_and_marks_only_the_culprit_corrupt() -> None:
    jobs = [probe.ProbeJob(i, f"/v/{name}.avi", 1) for i, name in enumerate(["a", "hang", "b", "c"])]
    start = time.perf_counter()
    results = probe.run_all(jobs, workers=2, task=hang_on_marked_video, timeout=2.0)
    assert [results[i].status for i in range(4)] == ["ok", "corrupt", "ok", "ok"]
    assert results[1].error == "timed out after 2 s"
    assert time.perf_counter() - start < 60  # the stuck worker was killed, not waited for


def test_probe_counts_flow_fields_of_a_flow_folder(tmp_path):
    """A `rlx.data flow` output folder (flow_x_/flow_y_ pairs, no img_*) is probed by its flow fields."""
    folder = tmp_path / "v_x_g01_c01"
    folder.mkdir()
    for i in range(7):
        for axis in "xy":
            cv2.imwrite(str(folder / f"flow_{axis}_{i + 1:05d}.jpg"), np.full((16, 16), 128, np.uint8))
    result = probe.probe_one(folder, min_frames=3)
    assert (result.status, result.num_frames) == ("ok", 7)
    assert probe.probe_one(folder, min_frames=8).status == "too_short"
    (folder / "flow_y_00007.jpg").unlink()  # an interrupted extraction: x and y disagree
    result = probe.probe_one(folder)
    assert result.status == "corrupt" and "6 flow_y" in result.error


def test_a_truncated_video_that_still_plays_is_corrupt(tmp_path: Path) -> None:
    # The first 70 % of an AVI opens and decodes to its last surviving frame; its header still says 24.
    data = write_noise_clip(tmp_path / "full.avi", 24).read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: int(0.7 * len(data))])
    result = probe.probe_one(cut)
    assert result.status == "corrupt" and result.num_frames is None
    assert re.fullmatch(r"truncated: \d+ of the 24 frames its header declares", result.error)
    assert int(result.error.split()[1]) < 24 * (1 - probe.TRUNCATION_TOLERANCE)
    assert probe.probe_one(tmp_path / "full.avi") == probe.ProbeResult(-1, "ok", 24, 25.0)
    assert probe.declared_frames(tmp_path / "full.avi") == 24


def test_probe_rows_probes_only_the_marked_rows(index: pd.DataFrame, videos: Path) -> None:
    stale = index.assign(status="ok", num_frames=pd.array([99] * len(index), dtype="Int32"))
    marked = (stale["path"] == "Bad/v_Bad_g01_c03.avi").to_numpy()
    out = probe.probe_rows(stale, marked, videos)
    assert out.loc[marked, "status"].tolist() == ["missing"] and pd.isna(out.loc[marked, "num_frames"]).all()
    assert (out.loc[~marked, "status"] == "ok").all() and (out.loc[~marked, "num_frames"] == 99).all()
    assert out["num_frames"].dtype == pd.Int32Dtype() and out["probe_error"][~marked].isna().all()
