"""Headless Chromium for the report's browser tests (Debian's `chromium`, installed by .ci/run)."""

from __future__ import annotations

import shutil
from pathlib import Path

BROWSER = next(
    (
        p
        for p in (
            shutil.which("chromium"),
            "/usr/bin/chromium",
            shutil.which("chromium-browser"),
            shutil.which("google-chrome"),
        )
        if p and Path(p).is_file()
    ),
    None,
)
NO_BROWSER = "no Chromium installed (apt-get install chromium)"
# Offline and quiet: no first-run pages, background updates or sync (the tests run without internet).
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
