"""A bound on one video's decode: a decoder stuck on a broken file becomes that file's `DecodeError`.

The call runs in a fresh daemon thread and the caller waits at most
`timeout_s` seconds. decord, PyAV and torchcodec release the GIL while they
decode, so the wait returns even when the decoder loops in C. A thread
cannot be killed: a stuck one is left behind (daemon, so it never blocks
the process's exit) and keeps its core until its process ends. The probe
(`rlx.data.probe`) kills stuck workers instead; this is the fallback for a
video that got past it. A thread start costs ~0.1 ms against tens of ms of
decoding.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TypeVar

from rlx.data.decode.common import DecodeError

T = TypeVar("T")


def call_with_timeout(fn: Callable[[], T], timeout_s: float | None, path: str | os.PathLike) -> T:
    """`fn()`, or a DecodeError naming `path` when it runs longer than `timeout_s` (None: no bound)."""
    if timeout_s is None:
        return fn()
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as err:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = err

    worker = threading.Thread(target=target, name=f"rlx-decode:{os.path.basename(path)}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise DecodeError(path, f"decoding took longer than {timeout_s:g} s (data.decode_timeout_s); given up")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
