"""`rlx.bench.sizing`: rates read from bench lines, CPUs needed per node type, the README block."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlx.bench import sizing
from rlx.bench.sizing import Rate
from rlx.tune.placement import NodeType


def _write(folder: Path, name: str, lines: list[dict]) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text("".join(json.dumps(line) + "\n" for line in lines))


def _line(name: str, **details) -> dict:
    return {"name": name, "value": 1.0, "unit": "x", "baseline": "", "candidate": "", "details": details}


def test_latest_line_of_a_name_wins_across_files(tmp_path):
    _write(tmp_path, "2026-01-01-a.jsonl", [_line("x", v=1), _line("y", v=1)])
    _write(tmp_path, "2026-01-02-a.jsonl", [_line("x", v=2)])
    lines = sizing.latest_lines(tmp_path)
    assert lines["x"][0]["details"]["v"] == 2 and lines["x"][1] == "2026-01-02-a.jsonl:1"
    assert lines["y"][1] == "2026-01-01-a.jsonl:2"


def test_decode_rates_split_containers_and_say_what_is_not_measured(tmp_path):
    per_clip = {"a.avi": {"train_path": 40.0}, "b.AVI": {"train_path": 60.0}, "c.mp4": {"train_path": 250.0}}
    flow = _line("data.flow_rawframes_vs_rgb_video", flow_videos_per_s_per_core=7.5) | {"value": 0.25}
    _write(tmp_path, "r.jsonl", [_line("data.train_path_vs_decode_all", per_clip_ms=per_clip), flow])
    rates = sizing.decode_rates(sizing.latest_lines(tmp_path))
    assert rates["rgb AVI"].videos_per_s == pytest.approx(20.0)  # 2 videos in 0.1 s
    assert rates["rgb MP4"].videos_per_s == pytest.approx(4.0)
    assert rates["flow JPEG"].videos_per_s == pytest.approx(5.0)  # 0.25 (same-run ratio) x the AVI rate
    assert rates["rgb cache"] == Rate(None, "not measured")


def test_cache_rate_is_the_faster_cache_format(tmp_path):
    vps = {"video": 10.0, "jpeg": 40.0, "h264_pyav": 25.0, "h264_decord": 55.0}
    lines = [_line(f"data.cache_{fmt}_vs_video", videos_per_s_per_core=vps) for fmt in ("jpeg", "h264")]
    _write(tmp_path, "r.jsonl", lines)
    rate = sizing.decode_rates(sizing.latest_lines(tmp_path))["rgb cache"]
    assert rate.videos_per_s == 55.0 and "h264_decord" in rate.source


def test_gpu_rate_uses_a_measurement_on_that_gpu_only(tmp_path):
    _write(tmp_path, "r.jsonl", [_line("gpu.train_mfu", device="NVIDIA A100-SXM4-80GB", videos_per_s=300.0)])
    lines = sizing.latest_lines(tmp_path)
    assert sizing.gpu_rate("A100", lines).videos_per_s == 300.0
    estimate = sizing.gpu_rate("L4", lines)  # MFU x 121e12 / (3 x 158.9e9)
    assert estimate.videos_per_s == pytest.approx(sizing.MFU * 121e12 / (3 * 158.9e9)) and "estimate" in estimate.source


def test_measured_mfu_is_noted_and_what_if_mfu_scales_the_estimates(tmp_path):
    line = _line("gpu.train_mfu", device="NVIDIA H200", videos_per_s=210.8) | {"value": 0.102}
    _write(tmp_path, "r.jsonl", [line])
    lines = sizing.latest_lines(tmp_path)
    (note,) = sizing.measured_mfu_note(lines, 0.3)
    assert "NVIDIA H200 211 training videos/s = 10.2% MFU (r.jsonl:1)" in note and "assume 30.0%" in note
    assert sizing.measured_mfu_note({}, 0.3) == []
    at = {m: sizing.gpu_rate("A100", lines, m).videos_per_s for m in (0.1, 0.3)}
    assert at[0.3] == pytest.approx(3 * at[0.1])  # an H200 line is not an A100 measurement: estimates at the MFU


def test_what_if_flags_print_only(capsys):
    with pytest.raises(SystemExit):
        sizing.main(["--write", "--mfu", "0.1"])
    assert "a what-if only prints" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        sizing.main(["--mfu", "12"])
    assert "--mfu is a fraction in (0, 1], got 12.0" in capsys.readouterr().err


def test_gpu_of_instance_families():
    assert sizing.gpu_of(NodeType("gpu", {"GPU": 1}, 1, "g5.4xlarge")) == "A10G"
    assert sizing.gpu_of(NodeType("gpu", {"GPU": 8}, 1, "a2-highgpu-8g")) == "A100"
    assert sizing.gpu_of(NodeType("gpu-8x", {"GPU": 8}, 1)) == "A100"
    with pytest.raises(ValueError, match="GPU_OF"):
        sizing.gpu_of(NodeType("odd", {"GPU": 1}, 1, "x1.large"))


def test_cell_says_needed_cpus_and_the_wait_when_short():
    assert sizing.cell(1, 100.0, Rate(10.0, ""), available=12) == "12 ✓"  # ceil(0.9·100 / (0.8·10)) = 12
    assert sizing.cell(1, 100.0, Rate(10.0, ""), available=4) == "12 ✗ (wait 68%)"  # 1 - 4·10·0.8/100
    assert sizing.cell(1, 100.0, Rate(None, "not measured"), available=4) == "not measured"


def test_readme_block_regenerates_idempotently(tmp_path):
    text = f"# Title\n\n{sizing.BEGIN}\nold table\n{sizing.END}\n\nafter\n"
    once = sizing.replace_block(text, "| new |\n")
    assert once == f"# Title\n\n{sizing.BEGIN}\n| new |\n{sizing.END}\n\nafter\n"
    assert sizing.replace_block(once, "| new |\n") == once
    with pytest.raises(ValueError, match="markers"):
        sizing.replace_block("no markers", "x")


def test_shipped_clusters_table_lists_every_gpu_node_type():
    root = Path(__file__).resolve().parents[1]
    clusters = sorted((root / "clusters").glob("*.yaml"))
    table = sizing.table(clusters, {}, sizing.cpus_per_worker(root / "tune_spaces"))
    assert table.count("\n| `") == 6  # 1-GPU and 8-GPU types of aws, gcp and kuberay
    assert "rgb cache: not measured" in table
    readme = (root / "clusters" / "README.md").read_text()
    assert sizing.BEGIN in readme and sizing.END in readme
