"""Decoder library messages: what decord and FFmpeg write straight to file descriptor 2, captured per video.

decord 0.6.0 and the FFmpeg builds under it print from C (`[mpeg4 @ 0x…] ac-tex
damaged`, `[12:00:01] video_reader.cc:83: ERROR opening …`) to the process's
stderr, which Ray streams to the driver's console: noise a user cannot act on,
since every video that fails is reported anyway (a `DecodeError` with its file,
the skip log). `capture_messages` points fd 2 at a temporary file for the
duration of one video's decode and hands back the lines, which the caller counts
and logs at INFO on `rlx.data.decode` (not shown on the console by default: the
root logger's level is WARNING) or adds to the video's `DecodeError`.

fd 2 is process-wide: anything else the process writes to stderr while a video
decodes (a Python warning, a Ray core line) lands in the same capture and is
logged with it rather than printed. Ray decode tasks decode one video at a time
per process, so captures never overlap.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def capture_messages() -> Iterator[list[str]]:
    """A list filled, when the block ends, with the non-empty lines written to fd 2 inside it."""
    lines: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode("utf-8", errors="replace")
            lines.extend(line.strip() for line in text.splitlines() if line.strip())
