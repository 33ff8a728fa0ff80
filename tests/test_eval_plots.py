"""rlx.eval.plots: the confusion-matrix PNG a training run logs."""

from __future__ import annotations

import struct
from types import SimpleNamespace

import numpy as np

from rlx.eval.plots import confusion_matrix_png


def test_confusion_matrix_png_size_follows_the_number_of_classes(tmp_path):
    pred = SimpleNamespace(scores=np.eye(5)[[0, 1, 2, 3, 4, 0]], labels=np.array([0, 1, 2, 3, 4, 4]))
    path = confusion_matrix_png(tmp_path / "plots" / "cm.png", pred, [f"class_{i}" for i in range(5)])
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert (width, height) == (300, 300)  # (2 + 0.35 * 5) inches at 80 dpi
