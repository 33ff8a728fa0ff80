"""Which decoders this machine can run in the tests: torchcodec needs FFmpeg's shared libraries.

.ci/run installs them (Debian's `ffmpeg`); where they are missing (no root, no apt) the torchcodec tests
are skipped with the reason, as the browser tests are without Chromium, and `make test` still passes.
"""

from __future__ import annotations

import pytest

from rlx.data.decode import DECODERS, torchcodec_backend


def _torchcodec_missing() -> str | None:
    try:
        torchcodec_backend.require()
    except RuntimeError as err:
        return str(err)
    return None


TORCHCODEC_MISSING = _torchcodec_missing()
needs_torchcodec = pytest.mark.skipif(TORCHCODEC_MISSING is not None, reason=f"{TORCHCODEC_MISSING}")
# DECODERS as pytest parameters, torchcodec's skipped where it cannot load
DECODER_PARAMS = [pytest.param(d, marks=needs_torchcodec) if d == "torchcodec" else d for d in DECODERS]
