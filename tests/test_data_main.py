"""rlx.data.__main__: the `index` / `check` commands end to end, argument choices, exit codes, imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import get_args

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_data_probe import write_clip

from rlx.config import Dataset, IndexFormat
from rlx.data import splits
from rlx.data.__main__ import build_parser, main


def test_cli_index_writes_parquet_and_classes(
    fixtures_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "ucf.parquet"
    annotations = str(fixtures_dir / "annotations/ucf101")
    code = main(["index", "--dataset", "ucf101", "--annotations", annotations, "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "ucf101 split 1: 11 videos (train 7, test 4), 4 classes" in printed and f"wrote {out}" in printed
    schema = pq.read_schema(out)
    expected = {
        "video_id": pa.string(),
        "path": pa.string(),
        "split": pa.string(),
        "label": pa.int32(),
        "labels": pa.list_(pa.int32()),
        "num_frames": pa.int32(),
        "fps": pa.float32(),
        "status": pa.string(),
    }
    assert {field.name: field.type for field in schema} == expected
    assert (tmp_path / "ucf.classes.txt").read_text() == "0 Hammering\n1 HammerThrow\n2 HandstandPushups\n3 PushUps\n"


def test_cli_index_probe_then_check(fixtures_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = tmp_path / "videos"
    write_clip(root / "PushUps/v_PushUps_g08_c01.avi", 6)
    write_clip(root / "PushUps/v_PushUps_g16_c04.avi", 3)
    (root / "PushUps/v_PushUps_g01_c01.avi").write_bytes(b"RIFF....AVI junk")
    out = tmp_path / "probed.parquet"
    annotations = str(fixtures_dir / "annotations/ucf101")
    args = ["index", "--dataset", "ucf101", "--annotations", annotations, "--out", str(out)]
    code = main([*args, "--probe", "--videos", str(root), "--min-frames", "4", "--workers", "2"])
    printed = capsys.readouterr().out
    assert code == 0 and "status of 11 videos: ok 1, missing 8, corrupt 1, too_short 1" in printed
    assert splits.read_index(out)["status"].value_counts()["missing"] == 8

    code = main(["check", "--index", str(out), "--videos", str(root), "--min-frames", "2", "--workers", "1"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "status of 11 videos: ok 2, missing 8, corrupt 1" in printed
    assert "corrupt   PushUps/v_PushUps_g01_c01.avi" in printed


def test_cli_user_errors_exit_2_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = ["index", "--dataset", "charades", "--annotations", str(tmp_path), "--split", "2", "--out", "x.parquet"]
    assert main(args) == 2
    assert "single official split" in capsys.readouterr().err
    assert main(["check", "--index", str(tmp_path / "none.parquet"), "--videos", str(tmp_path)]) == 2
    assert "none.parquet" in capsys.readouterr().err


def test_cli_bad_annotations_path_exits_2_in_a_real_process(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "rlx.data", "index", "--dataset", "ucf101"]
    cmd += ["--annotations", str(tmp_path), "--out", str(tmp_path / "x.parquet")]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: annotation file not found: {tmp_path / 'classInd.txt'}"


def test_index_format_choices_are_the_config_index_formats(capsys: pytest.CaptureFixture) -> None:
    """`--format` (alias `--dataset`) offers rlx.config.IndexFormat; the official three are also Dataset names."""
    assert splits.FORMATS == get_args(IndexFormat)
    assert splits.DATASETS == ("ucf101", "hmdb51", "charades")
    assert set(splits.DATASETS) == set(get_args(Dataset)) - {"synthetic", "custom"}
    parser = build_parser()
    for name in splits.FORMATS:
        assert parser.parse_args(["index", "--format", name, "--out", "x"]).format == name
        assert parser.parse_args(["index", "--dataset", name, "--out", "x"]).format == name
    with pytest.raises(SystemExit) as exit_info:
        main(["index", "--dataset", "synthetic", "--annotations", ".", "--out", "x.parquet"])
    assert exit_info.value.code == 2
    assert "argument --format/--dataset: invalid choice: 'synthetic'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["index", "--help"])
    assert "--format {ucf101,hmdb51,charades,folder,mmaction-video,mmaction-rawframes}" in capsys.readouterr().out


def test_help_needs_neither_torch_nor_ray() -> None:
    code = (
        "import sys, rlx.data.__main__ as cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('torch', 'torchvision', 'ray', 'mlflow') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage: python -m rlx.data" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"


def write_frames(folder: Path, count: int, flow: bool = False) -> None:
    """A rawframes folder of `count` small JPEGs: img_00001.jpg.. or flow_x_/flow_y_00001.jpg.."""
    folder.mkdir(parents=True, exist_ok=True)
    image = np.full((8, 8, 3), 128, np.uint8)
    for i in range(1, count + 1):
        names = (f"flow_x_{i:05d}.jpg", f"flow_y_{i:05d}.jpg") if flow else (f"img_{i:05d}.jpg",)
        for name in names:
            assert cv2.imwrite(str(folder / name), image[..., 0] if flow else image)


def test_cli_folder_format_with_a_class_subset_and_probe(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = tmp_path / "tree"
    for cls, n in (("jump", 2), ("run", 2), ("walk", 4)):
        for i in range(n):
            write_clip(root / cls / f"c{i}.avi", 3)
    out = tmp_path / "i.parquet"
    args = ["index", "--format", "folder", "--videos", str(root), "--test-fraction", "0.5", "--out", str(out)]
    code = main([*args, "--classes", "walk", "0", "--probe", "--workers", "1"])
    printed = capsys.readouterr().out
    assert code == 0 and "folder: 6 videos (train 3, test 3), 2 classes" in printed and "ok 6" in printed
    df = splits.read_index(out)
    assert df.attrs["classes"] == ["jump", "walk"] and df.attrs["class_map"] == [0, 2]
    assert sorted(df["label"]) == [0, 0, 1, 1, 1, 1] and (df["num_frames"] == 3).all()


def test_cli_mmaction_rawframes_lists_on_rgb_and_flow_trees(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    write_frames(tmp_path / "rgb/walk/v1", 5)
    write_frames(tmp_path / "rgb/run/v2", 4)
    write_frames(tmp_path / "flow/walk/v1", 4, flow=True)
    write_frames(tmp_path / "flow/run/v2", 3, flow=True)
    (tmp_path / "train.txt").write_text("walk/v1 5 1\n")
    (tmp_path / "test.txt").write_text("run/v2 4 0\n")
    lists = ["--train-list", str(tmp_path / "train.txt"), "--test-list", str(tmp_path / "test.txt")]
    for stream, frames in (("rgb", [5, 4]), ("flow", [4, 3])):
        out = tmp_path / f"{stream}.parquet"
        args = ["index", "--format", "mmaction-rawframes", *lists, "--videos", str(tmp_path / stream)]
        assert main([*args, "--probe", "--workers", "1", "--out", str(out)]) == 0
        assert "mmaction-rawframes (rawframes): 2 videos (train 1, test 1), 2 classes" in capsys.readouterr().out
        df = splits.read_index(out)
        assert list(df["num_frames"]) == frames and df.attrs["media"] == "rawframes"


def test_cli_format_options_missing_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["index", "--format", "ucf101", "--out", "x.parquet"]) == 2
    assert "--format ucf101 needs --annotations DIR" in capsys.readouterr().err
    assert main(["index", "--format", "folder", "--test-fraction", "0.2", "--out", "x.parquet"]) == 2
    assert "--format folder needs --videos DIR" in capsys.readouterr().err
    assert main(["index", "--format", "mmaction-video", "--out", "x.parquet"]) == 2
    assert "the mmaction-video format needs a train list" in capsys.readouterr().err
