"""rlx.data.decode.messages and its use in load_video: decoder C output is captured, logged and counted, not printed."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

from rlx.data.decode import DecodeError, capture_messages
from rlx.data.pipeline import PipelineSpec, batches, load_video, video


def test_lines_written_to_fd2_are_captured_and_not_printed(capfd: pytest.CaptureFixture[str]) -> None:
    with capture_messages() as lines:
        os.write(2, b"[mpeg4 @ 0x1] ac-tex damaged at 18 4\n\n[mpeg4 @ 0x1] Error at MB: 102\n")
    os.write(2, b"after\n")
    assert lines == ["[mpeg4 @ 0x1] ac-tex damaged at 18 4", "[mpeg4 @ 0x1] Error at MB: 102"]
    assert capfd.readouterr().err == "after\n"


def test_lines_are_kept_when_the_block_raises(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RuntimeError), capture_messages() as lines:
        os.write(2, b"moov atom not found\n")
        raise RuntimeError("decoder failed")
    assert lines == ["moov atom not found"] and capfd.readouterr().err == ""


def test_decord_messages_of_a_broken_video_go_to_the_log_and_the_error(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(4000))  # an MP4 without its moov atom
    spec = PipelineSpec(str(tmp_path), decoder="decord")
    with caplog.at_level(logging.INFO, logger="rlx.data.decode"), pytest.raises(DecodeError) as info:
        load_video(spec, "broken.mp4", -1, np.random.default_rng(0))
    assert capfd.readouterr().err == ""  # nothing from decord/FFmpeg on the console
    assert "(decoder: " in info.value.reason and info.value.path == str(tmp_path / "broken.mp4")
    (record,) = [r for r in caplog.records if r.name == "rlx.data.decode"]
    assert record.levelno == logging.INFO and "decoder message(s) while decoding" in record.getMessage()
    assert int(record.getMessage().split()[0]) >= 1  # the count leads the line


def test_decode_batch_counts_the_messages_and_carries_their_text_on_the_first_row(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = PipelineSpec(str(tmp_path), num_segments=1, input_size=8, short_side=8, decoder="pyav")

    def chatty_load(spec, source, num_frames, rng):  # a decoder that prints from C for one of the videos
        if source.name == "b.avi":
            os.write(2, b"[mpeg4 @ 0x1] ac-tex damaged\n[mpeg4 @ 0x1] Error at MB: 7\n")
        return np.zeros(spec.frame_shape(), np.uint8)

    monkeypatch.setattr(video, "_load", chatty_load)
    rows = [{"video_id": v, "path": f"{v}.avi", "label": 0, "labels": [0], "num_frames": 10} for v in "abc"]
    out = batches.decode_batch(batches.to_columns(rows), spec)
    assert capfd.readouterr().err == ""
    assert out["decoder_messages"].tolist() == [2, 0, 0]
    assert out["decoder_log"][0] == (
        f"{tmp_path / 'b.avi'}: [mpeg4 @ 0x1] ac-tex damaged\n{tmp_path / 'b.avi'}: [mpeg4 @ 0x1] Error at MB: 7"
    )
    assert out["decoder_log"][1:].tolist() == ["", ""]
