"""index.html in a real headless browser (Debian's chromium): every table and every image renders.

Skipped only where no Chromium is installed (.ci/run installs it). The page's
inline script marks each image `data-rendered="ok"|"broken"` and counts
tables without rendered rows; `--dump-dom` after a virtual-time budget shows
the marks, `--screenshot` shows the page is not blank.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from browser import BROWSER, FLAGS, NO_BROWSER
from test_report_build import build_families

from rlx.report.__main__ import main

pytestmark = pytest.mark.skipif(BROWSER is None, reason=NO_BROWSER)


def chromium(tmp_path: Path, *args: str) -> str:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    done = subprocess.run(
        [BROWSER, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def dump_dom(tmp_path: Path, page: Path) -> str:
    return chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", page.as_uri())


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("html")
    build_families(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlruns.db'}")
        assert main(["--experiment", "fam", "--out", str(root / "fam")]) == 0
    return root / "fam" / "index.html"


def test_every_table_and_image_renders(page, tmp_path):
    html = page.read_text()
    n_images, n_tables = html.count("<img "), html.count("<table>")
    assert n_images >= 4 and n_tables >= 4  # families, class gain, top-5, learning curves; 4+ tables
    dom = dump_dom(tmp_path, page)
    assert f'data-images="{n_images} images, 0 broken"' in dom
    assert f'data-tables="{n_tables} tables, 0 not rendered"' in dom
    assert dom.count('data-rendered="ok"') == n_images


def test_a_broken_image_is_detected(page, tmp_path):
    """The check can fail: a page with one undecodable image reports it."""
    html = page.read_text()
    broken = tmp_path / "broken.html"
    broken.write_text(re.sub(r'src="data:image/png;base64,[^"]+"', 'src="data:image/png;base64,AAAA"', html, count=1))
    dom = dump_dom(tmp_path, broken)
    assert f'data-images="{html.count("<img ")} images, 1 broken"' in dom
    assert dom.count('data-rendered="broken"') == 1


def test_screenshot_is_not_blank(page, tmp_path):
    shot = tmp_path / "shot.png"
    chromium(tmp_path, "--window-size=1280,1600", f"--screenshot={shot}", page.as_uri())
    pixels = matplotlib.image.imread(shot)[..., :3]  # (H, W, 3) floats in [0, 1]
    assert pixels.shape[:2] == (1600, 1280)
    not_white = (pixels < 0.95).any(axis=2).mean()
    colours = len(np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0))
    assert not_white > 0.05 and colours > 50, (not_white, colours)  # text, table borders and plots drawn
