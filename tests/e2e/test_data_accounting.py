"""End to end: `python -m rlx.train --local` on real UCF-101 clips with known bad files says what it left out.

Seven real clips (RLX_DATASETS_META/videos/ucf101) plus a zero-byte, a truncated and a garbage training video
and a listed test video that is not there. The default refuses the incomplete test set before training; with
data.max_missing_test=1 the run trains, and its MLflow run holds the counts, the list and the test coverage.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from rlx.tracking import find_run
from rlx.train.__main__ import main

pytestmark = pytest.mark.slow

GOOD_TRAIN = ["Punch/v_Punch_g08_c01.avi", "PushUps/v_PushUps_g08_c01.avi", "PushUps/v_PushUps_g16_c04.avi"]
GOOD_TRAIN += ["BabyCrawling/v_BabyCrawling_g08_c01.avi"]
GOOD_TEST = ["Punch/v_Punch_g01_c01.avi", "PushUps/v_PushUps_g01_c01.avi", "BabyCrawling/v_BabyCrawling_g01_c01.avi"]
ZERO, CUT, GARBAGE = (
    "Punch/v_Punch_g09_c01.avi",
    "PushUps/v_PushUps_g10_c01.avi",
    "BabyCrawling/v_BabyCrawling_g11_c01.avi",
)
MISSING = "Punch/v_Punch_g02_c01.avi"
CLASSES = ["BabyCrawling", "Punch", "PushUps"]

CONFIG = {
    "data.dataset": "ucf101",
    "data.val_fraction": 0.0,
    "data.input_size": 64,
    "data.short_side": 64,
    "data.num_segments": 2,
    "data.flip": False,
    "model.arch": "tsn",
    "model.backbone": "resnetv2_small",
    "model.bn_mode": "batch",
    "model.dropout": 0.5,
    "optim.epochs": 1,
    "optim.milestones": [],
    "optim.batch_size": 2,
    "eval.num_groups": 1,
    "eval.num_crops": 1,
    "eval.view_budget": 4,
}


def write_dataset(root: Path, clips: Path) -> None:
    videos = root / "videos"
    for rel in GOOD_TRAIN + GOOD_TEST:
        (videos / rel).parent.mkdir(parents=True, exist_ok=True)
        (videos / rel).write_bytes((clips / rel).read_bytes())
    (videos / ZERO).write_bytes(b"")
    data = (clips / "PushUps/v_PushUps_g08_c01.avi").read_bytes()
    (videos / CUT).write_bytes(data[: int(0.7 * len(data))])  # opens and plays its first 70 %
    (videos / GARBAGE).write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, np.uint8).tobytes())
    ann = root / "ucfTrainTestlist"
    ann.mkdir()
    (ann / "classInd.txt").write_text("".join(f"{i + 1} {c}\r\n" for i, c in enumerate(CLASSES)))
    train = GOOD_TRAIN + [ZERO, CUT, GARBAGE]
    (ann / "trainlist01.txt").write_text("".join(f"{p} {CLASSES.index(p.split('/')[0]) + 1}\r\n" for p in train))
    (ann / "testlist01.txt").write_text("".join(f"{p}\r\n" for p in [*GOOD_TEST, MISSING]))


def test_a_local_run_logs_what_it_left_out(datasets_meta, tmp_path, monkeypatch, capsys):
    write_dataset(tmp_path, datasets_meta / "videos" / "ucf101")
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    keys = {"data.videos": str(tmp_path / "videos"), "data.annotations": str(tmp_path / "ucfTrainTestlist")}
    config = tmp_path / "acc.yaml"
    config.write_text(yaml.safe_dump({**CONFIG, **keys, "data.cache_dir": str(tmp_path / "cache")}))
    argv = ["--config", str(config), "--local", "--storage", str(tmp_path / "runs"), "--experiment", "acc"]

    # The default (data.max_missing_test 0) stops before training, naming the video and the key.
    assert main([*argv, "--name", "refused"]) == 2
    err = capsys.readouterr().err
    assert f"the test set misses 1 of its 4 videos, more than data.max_missing_test=0: {MISSING} (missing)" in err
    assert "set data.max_missing_test=1" in err
    assert find_run("acc", "refused", uri) is None and not (tmp_path / "runs" / "refused").exists()

    assert main([*argv, "--name", "run", "--set", "data.max_missing_test=1"]) == 0
    out = capsys.readouterr().out
    assert f"  test: 3 of 4 videos used; left out: 1 missing, 0 corrupt, 0 too short: {MISSING} (missing)" in out
    assert f"  train: 4 of 7 videos used; left out: 0 missing, 3 corrupt, 0 too short: {ZERO} (corrupt)" in out
    assert "  val: 0 of 0 videos used" in out

    tracked = find_run("acc", "run", uri)
    metrics = tracked.client.get_run(tracked.run_id).data.metrics
    assert metrics["data/excluded/train"] == 3 and metrics["data/excluded/val"] == 0
    assert metrics["data/excluded/test"] == 1 and metrics["test/videos"] == 3 and metrics["data/test_skipped"] == 0
    csv = tracked.client.download_artifacts(tracked.run_id, "data/excluded.csv", str(tmp_path / "dl"))
    excluded = pd.read_csv(csv).set_index("path")
    videos = tmp_path / "videos"
    assert excluded["status"].to_dict() == {
        str(videos / ZERO): "corrupt",
        str(videos / CUT): "corrupt",
        str(videos / GARBAGE): "corrupt",
        str(videos / MISSING): "missing",
    }
    assert excluded.loc[str(videos / CUT), "reason"].startswith("truncated: ")
    assert excluded.loc[str(videos / MISSING), "subset"] == "test"
    scores = tracked.client.download_artifacts(tracked.run_id, "scores/test.parquet", str(tmp_path / "dl"))
    assert sorted(pd.read_parquet(scores)["video_id"]) == sorted(Path(p).stem for p in GOOD_TEST)
