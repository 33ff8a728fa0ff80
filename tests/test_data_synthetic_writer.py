"""rlx.data.synthetic.writer: the files are real UCF-101-style data (H.264 mp4 + CRLF lists) and deterministic."""

from __future__ import annotations

import re
from pathlib import Path

import av
import decord
import numpy as np
import pytest

from rlx.data import splits
from rlx.data.__main__ import main
from rlx.data.synthetic import render, scenes, writer

SMALL = dict(videos_per_class=4, frames=16, size=32)


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "a"
    writer.write_benchmark(out, seed=3, workers=2, **SMALL)  # two spawned processes render
    return out


@pytest.fixture(scope="module")
def bench_same_seed(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "b"
    writer.write_benchmark(out, seed=3, workers=1, **SMALL)  # this process alone
    return out


def pyav_frames(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])  # (F, H, W, 3)


def colour_mask(frames: np.ndarray, colour: tuple[int, int, int], tol: int = 50) -> np.ndarray:
    """(F, H, W) bool: pixels within `tol` of `colour` on every channel (jitter 20 + noise + coding)."""
    return (np.abs(frames.astype(np.int16) - np.asarray(colour, dtype=np.int16)) < tol).all(axis=-1)


# --------------------------------------------------------------------------- names and lists


def test_clip_name_groups_four_clips_one_based():
    assert writer.clip_name("order_left_to_right", 0) == "v_order_left_to_right_g01_c01.mp4"
    assert writer.clip_name("order_left_to_right", 3) == "v_order_left_to_right_g01_c04.mp4"
    assert writer.clip_name("order_left_to_right", 5) == "v_order_left_to_right_g02_c02.mp4"


def test_split_counts_send_a_quarter_to_test():
    # round(n / 4) to test (Python rounds halves to even: 1.5 -> 2, 2.5 -> 2), at least 1 from n = 2 on.
    expected = {1: (1, 0), 2: (1, 1), 4: (3, 1), 6: (4, 2), 10: (8, 2), 24: (18, 6)}
    assert {n: writer.split_counts(n) for n in expected} == expected


def test_annotation_texts_exact_lines():
    texts = writer.annotation_texts(2)
    first = scenes.CLASS_NAMES[0]
    assert first == "appearance_blue_triangle"
    class_ind = texts["classInd.txt"].split("\r\n")
    assert class_ind[:2] == ["1 appearance_blue_triangle", "2 appearance_green_circle"] and class_ind[-1] == ""
    assert texts["trainlist01.txt"].startswith(f"{first}/v_{first}_g01_c01.mp4 1\r\n")
    assert texts["testlist01.txt"].startswith(f"{first}/v_{first}_g01_c02.mp4\r\n")
    assert texts["trainlist01.txt"].count("\r\n") == texts["testlist01.txt"].count("\r\n") == 11
    assert writer.annotation_texts(1)["testlist01.txt"] == ""  # one clip per class: nothing to test on


def test_benchmark_summary_text():
    summary = writer.BenchmarkSummary(
        Path("/b"), ("order_a", "order_b"), 4, 3, 1, 16, 32, 7, 1.26, {"order": ["order_a", "order_b"]}
    )
    assert summary.num_videos == 8
    assert str(summary) == (
        "synthetic benchmark v1: 2 classes x 4 videos (3 train / 1 test per class, 8 videos), "
        "16 frames of 32x32 px, seed 7, 1.3 s\n"
        "  order        order_a, order_b\n"
        "  wrote /b/videos and /b/annotations"
    )


# --------------------------------------------------------------------------- files


def test_annotation_files_follow_ucf101_format(bench: Path):
    ann = bench / "annotations"
    raw = {name: (ann / name).read_bytes() for name in ("classInd.txt", "trainlist01.txt", "testlist01.txt")}
    for name, data in raw.items():
        assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b""), f"{name}: CRLF lines only"
    class_lines = raw["classInd.txt"].decode("ascii").splitlines()
    assert class_lines == [f"{i} {n}" for i, n in enumerate(scenes.CLASS_NAMES, start=1)]
    ids = {n: i for i, n in enumerate(scenes.CLASS_NAMES, start=1)}
    train_re = re.compile(r"^(?P<cls>[a-z_]+)/v_(?P=cls)_g\d\d_c\d\d\.mp4 (?P<id>\d+)$")
    test_re = re.compile(r"^(?P<cls>[a-z_]+)/v_(?P=cls)_g\d\d_c\d\d\.mp4$")
    train = [train_re.match(line) for line in raw["trainlist01.txt"].decode("ascii").splitlines()]
    test = [test_re.match(line) for line in raw["testlist01.txt"].decode("ascii").splitlines()]
    assert all(train) and all(test)
    assert all(int(m["id"]) == ids[m["cls"]] for m in train)
    listed = [m.group(0).split()[0] for m in train + test]
    on_disk = sorted(str(p.relative_to(bench / "videos")) for p in (bench / "videos").rglob("*.mp4"))
    assert sorted(listed) == on_disk and len(set(listed)) == len(listed)
    per_class = {n: ([m["cls"] for m in train].count(n), [m["cls"] for m in test].count(n)) for n in ids}
    assert set(per_class.values()) == {(3, 1)}  # 4 per class, a quarter to test


def test_benchmark_parses_as_ucf101_index(bench: Path):
    df = splits.build_index("ucf101", bench / "annotations")
    assert df.attrs["classes"] == list(scenes.CLASS_NAMES)
    assert df.groupby("label").size().tolist() == [SMALL["videos_per_class"]] * len(scenes.CLASS_NAMES)
    assert (df["split"] == "test").sum() == len(scenes.CLASS_NAMES)


def test_videos_read_back_with_frame_count_and_size(bench: Path):
    path = bench / "videos" / "interaction_meet" / "v_interaction_meet_g01_c02.mp4"
    reader = decord.VideoReader(str(path), num_threads=1)
    assert len(reader) == SMALL["frames"]
    assert reader[len(reader) - 1].asnumpy().shape == (SMALL["size"], SMALL["size"], 3)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.pix_fmt) == ("h264", "yuv420p")
    assert pyav_frames(path).shape == (SMALL["frames"], SMALL["size"], SMALL["size"], 3)


def test_decoded_video_matches_rendered_frames(bench: Path):
    name = "order_left_to_right"
    rendered = render.render_clip(name, render.clip_rng(3, scenes.CLASS_NAMES.index(name), 0), 16, 32)
    decoded = pyav_frames(bench / "videos" / name / writer.clip_name(name, 0))
    assert np.abs(decoded.astype(float) - rendered).mean() < 6.0  # lossy H.264 + 4:2:0 chroma of a noisy clip


def test_same_seed_is_identical_in_any_process_and_other_seed_differs(
    bench: Path, bench_same_seed: Path, tmp_path: Path
):
    for name in ("classInd.txt", "trainlist01.txt", "testlist01.txt"):
        assert (bench / "annotations" / name).read_bytes() == (bench_same_seed / "annotations" / name).read_bytes()
    rel = Path("order_circle_before_square") / writer.clip_name("order_circle_before_square", 3)
    first = pyav_frames(bench / "videos" / rel)
    np.testing.assert_array_equal(first, pyav_frames(bench_same_seed / "videos" / rel))
    # Rendered by two processes or by one, every clip is the same file, byte for byte.
    videos = sorted(p.relative_to(bench) for p in (bench / "videos").rglob("*.mp4"))
    assert len(videos) == len(scenes.CLASS_NAMES) * SMALL["videos_per_class"]
    assert videos == sorted(p.relative_to(bench_same_seed) for p in (bench_same_seed / "videos").rglob("*.mp4"))
    assert all((bench / v).read_bytes() == (bench_same_seed / v).read_bytes() for v in videos)
    other = tmp_path / "seed4"
    writer.write_benchmark(other, videos_per_class=1, frames=16, size=32, seed=4)
    rel0 = Path("order_circle_before_square") / writer.clip_name("order_circle_before_square", 0)
    assert np.abs(pyav_frames(other / "videos" / rel0).astype(int) - pyav_frames(bench / "videos" / rel0)).mean() > 5


def test_write_benchmark_refuses_a_used_folder_and_bad_params(bench: Path, tmp_path: Path):
    with pytest.raises(ValueError, match="not empty"):
        writer.write_benchmark(bench, **SMALL)
    with pytest.raises(ValueError, match="even"):
        writer.write_benchmark(tmp_path, videos_per_class=1, frames=16, size=33)
    with pytest.raises(ValueError, match="frames"):
        writer.write_benchmark(tmp_path, videos_per_class=1, frames=4, size=32)
    with pytest.raises(ValueError, match="videos_per_class must be >= 1, got 0"):
        writer.write_benchmark(tmp_path, videos_per_class=0, frames=16, size=32)


def test_order_survives_tsn_sampling_on_decoded_videos(bench: Path):
    """T=8 TSN snippets (one random frame per equal segment): first shows only yellow, last only magenta."""
    rng = np.random.default_rng(0)
    frames = SMALL["frames"]
    edges = np.linspace(0, frames, 9)  # 8 equal segments
    for index in range(SMALL["videos_per_class"]):
        for name, first, last in (
            ("order_circle_before_square", scenes.YELLOW_CIRCLE, scenes.MAGENTA_SQUARE),
            ("order_square_before_circle", scenes.MAGENTA_SQUARE, scenes.YELLOW_CIRCLE),
        ):
            video = pyav_frames(bench / "videos" / name / writer.clip_name(name, index))
            picks = [
                int(rng.integers(int(np.ceil(lo)), int(np.ceil(hi))))
                for lo, hi in zip(edges[:-1], edges[1:], strict=True)
            ]
            head, tail = video[picks[0]][None], video[picks[-1]][None]
            assert colour_mask(head, first.colour).mean() > 0.03 and colour_mask(head, last.colour).mean() < 0.01
            assert colour_mask(tail, last.colour).mean() > 0.03 and colour_mask(tail, first.colour).mean() < 0.01


def test_cli_synth_writes_and_rejects_bad_size(tmp_path: Path, capsys):
    argv = ["synth", "--out", str(tmp_path / "s"), "--videos-per-class", "1", "--frames", "8", "--size", "32"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "11 classes x 1 videos" in out and "order_left_to_right" in out
    assert main(["synth", "--out", str(tmp_path / "t"), "--size", "31"]) == 2
    assert "even" in capsys.readouterr().err
