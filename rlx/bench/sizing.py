"""`python -m rlx.bench.sizing [--write | --cpus-per-worker N]`: decode CPUs per GPU node for ≤ 10 % data wait.

Inputs, all read here and named in the output:
- per-core decode videos/s of the training view (T = 8, 224²) from the
  latest lines of reports/bench/*.jsonl (files in name order, last line wins):
  RGB from video files per container (`data.train_path_vs_decode_all`,
  `per_clip_ms`: the AVIs — UCF-101/HMDB-51's Xvid — and the H.264 MP4s —
  Charades' format — summed separately), RGB from the training cache
  (`data.cache_*`, when measured), flow from rawframes JPEGs: the RGB AVI
  rate x `data.flow_rawframes_vs_rgb_video` (flow over RGB measured in one
  run on the same AVIs, so the shared machine's load cancels); the cache
  column is the faster format of `rlx.bench.data_cache`'s lines;
- per-GPU training videos/s: a `gpu.train_mfu` line measured on that GPU,
  else an estimate at MFU 30 % (see MFU): videos/s = 0.3 x bf16 peak / (3 x forward
  FLOPs per video), forward FLOPs from `model.two_branch_vs_tsn_flops`
  (RGB; flow's 20-channel stem adds ~7 %, so its GPU rate is a little lower
  and the RGB rate is the safe side);
- node types from clusters/*.yaml (`rlx.tune.placement.load_cluster`), CPUs
  held by training workers = GPUs x `cpus_per_worker` of the shipped GPU
  spaces (tune_spaces/*.yaml); the rest decode.

Model (`rlx.bench.throughput`): with prefetching the loop waits only for the
share the decoders fall short, wait = max(0, 1 - decode/GPU); decode = CPUs
x per-core rate x 0.8 (parallel efficiency: cloud vCPUs are hyperthreads and
the per-core figures are single-process). Needed CPUs for wait ≤ 10 %:
ceil(0.9 x GPUs x GPU rate / (0.8 x per-core rate)).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rlx.bench import throughput
from rlx.tune.placement import NodeType, load_cluster

# MFU 30 %: ResNet training reaches roughly 20-30 % of the bf16 peak (BatchNorm and ReLU are memory-bound; e.g.
# ResNet-50 AMP on an A100 at ~2,800 images/s is ~22 %, a figure recalled, not checked here). The upper end keeps
# the decode need on the safe side until `python -m rlx.bench gpu` measures the GPU (its line replaces the estimate).
# Measured on an H200 (2026-11-30): 10.2 % of its table peak. Not carried over to other GPUs: those with more
# memory bandwidth per FLOP (A100, A10G, L4) are likely to reach a higher MFU on this memory-bound network, and
# under-sizing starves the GPU, while over-sizing only leaves CPUs idle. `--mfu` prints the what-if.
MFU, MAX_WAIT, EFFICIENCY = 0.3, 0.1, 0.8
FALLBACK_GFLOPS = 158.9  # two_branch forward per video, T = 8, 224² (model.two_branch_vs_tsn_flops, 2026-11-24)
BEGIN, END = "<!-- rlx.bench.sizing:begin -->", "<!-- rlx.bench.sizing:end -->"
INPUTS = ("rgb AVI", "rgb MP4", "rgb cache", "flow JPEG")
# The GPU behind each instance family; KubeRay groups name no instance, so their group names map here
# (gpu-1x: "A10G/L4-class", sized as the L4, the larger bf16 peak of the two and so the larger decode need).
GPU_OF = {
    "g5.": "A10G",
    "g6.": "L4",
    "p4d.": "A100",
    "p4de.": "A100",
    "p5.": "H100",
    "g2-": "L4",
    "a2-": "A100",
    "a3-": "H100",
    "gpu-1x": "L4",
    "gpu-8x": "A100",
}


@dataclass(frozen=True)
class Rate:
    videos_per_s: float | None  # per core (decode) or per GPU (training); None: not measured
    source: str  # the bench line (file:line) or the estimate it comes from


def latest_lines(folder: Path) -> dict[str, tuple[dict[str, Any], str]]:
    """name -> (the latest line of that name, "file:line") over folder/*.jsonl in name (date) order."""
    out: dict[str, tuple[dict[str, Any], str]] = {}
    for path in sorted(folder.glob("*.jsonl")):
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if text.strip():
                line = json.loads(text)
                out[line["name"]] = (line, f"{path.name}:{number}")
    return out


def decode_rates(lines: dict[str, tuple[dict[str, Any], str]]) -> dict[str, Rate]:
    """Per-core videos/s of each input, or None with why."""
    rates = {name: Rate(None, "not measured") for name in INPUTS}
    if "data.train_path_vs_decode_all" in lines:
        line, where = lines["data.train_path_vs_decode_all"]
        per_clip = line["details"].get("per_clip_ms", {})
        for label, ext in (("rgb AVI", ".avi"), ("rgb MP4", ".mp4")):
            ms = [row["train_path"] for rel, row in per_clip.items() if rel.lower().endswith(ext)]
            if ms:
                rates[label] = Rate(1000 * len(ms) / sum(ms), f"{where} per_clip_ms, {len(ms)} {ext} clips")
    for name in sorted(n for n in lines if n.startswith("data.cache_") and n.endswith("_vs_video")):
        # rlx.bench.data_cache: data.cache_<format>_vs_video, per-core videos/s keyed by format (h264_<decoder>)
        line, where = lines[name]
        fmt = name.removeprefix("data.cache_").removesuffix("_vs_video")
        per_core = {k: v for k, v in line["details"].get("videos_per_s_per_core", {}).items() if k.startswith(fmt)}
        if per_core:
            key = max(per_core, key=per_core.get)
            best = rates["rgb cache"].videos_per_s or 0.0
            if per_core[key] > best:  # the faster cache format is the one to ship
                rates["rgb cache"] = Rate(float(per_core[key]), f"{where} ({name}, {key})")
    if "data.flow_rawframes_vs_rgb_video" in lines:
        line, where = lines["data.flow_rawframes_vs_rgb_video"]
        rgb = rates["rgb AVI"].videos_per_s
        if rgb is not None:  # the same-run ratio on the same AVIs, scaled to the RGB figure: load noise cancels
            rates["flow JPEG"] = Rate(rgb * float(line["value"]), f"{where}: {line['value']} x the rgb AVI rate")
        else:
            rates["flow JPEG"] = Rate(float(line["details"]["flow_videos_per_s_per_core"]), where)
    return rates


def gpu_rate(gpu: str, lines: dict[str, tuple[dict[str, Any], str]], mfu: float = MFU) -> Rate:
    """Training videos/s of one `gpu`: measured by `rlx.bench gpu` on it, else estimated at `mfu`."""
    if "gpu.train_mfu" in lines:
        line, where = lines["gpu.train_mfu"]
        found = throughput.peak_tflops(line["details"].get("device", ""))
        if found and found[0] == gpu:
            return Rate(float(line["details"]["videos_per_s"]), f"measured, {where}")
    gflops = FALLBACK_GFLOPS
    if "model.two_branch_vs_tsn_flops" in lines:
        gflops = float(lines["model.two_branch_vs_tsn_flops"][0]["details"]["two_branch_gflops"])
    peak = throughput.PEAK_BF16_TFLOPS[gpu]
    vps = throughput.videos_per_s_at_mfu(gflops * 1e9, peak, mfu)
    return Rate(vps, f"estimate: {mfu:.1%} of {peak:g} TFLOP/s / (3 x {gflops:g} GFLOPs)")


def measured_mfu_note(lines: dict[str, tuple[dict[str, Any], str]], mfu: float) -> list[str]:
    """A line saying what `rlx.bench gpu` measured, when it has, beside the MFU the estimates assume."""
    if "gpu.train_mfu" not in lines:
        return []
    line, where = lines["gpu.train_mfu"]
    d = line["details"]
    return [
        f"- measured: {d.get('device', '?')} {float(d['videos_per_s']):.0f} training videos/s = "
        f"{float(line['value']):.1%} MFU ({where}); estimates for GPUs not measured assume {mfu:.1%} "
        f"(`--mfu` for a what-if)"
    ]


def gpu_of(node: NodeType) -> str:
    for prefix, gpu in GPU_OF.items():
        if (node.instance or node.name).startswith(prefix):
            return gpu
    raise ValueError(f"node type {node.label()}: no GPU known for it; add its instance family to GPU_OF")


def cpus_per_worker(spaces: Path) -> float:
    """`resources.cpus_per_worker` of the GPU search spaces (they must agree: one sizing per node type)."""
    found = set()
    for path in sorted(spaces.glob("*.yaml")):
        res = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("resources", {})
        if res.get("gpus_per_worker", 0) > 0:
            found.add(float(res["cpus_per_worker"]))
    if len(found) != 1:
        raise ValueError(f"{spaces}: GPU spaces must share one cpus_per_worker, found {sorted(found) or 'none'}")
    return found.pop()


def cell(gpus: int, gpu_vps: float, rate: Rate, available: float) -> str:
    """'needed ✓' or 'needed ✗ (wait NN % with the available CPUs)' for one node type and input."""
    if rate.videos_per_s is None:
        return "not measured"
    need = throughput.decode_cpus_needed(gpus * gpu_vps, rate.videos_per_s, MAX_WAIT, EFFICIENCY)
    if need <= available:
        return f"{need} ✓"
    wait = throughput.data_wait_fraction(max(available, 0) * rate.videos_per_s * EFFICIENCY, gpus * gpu_vps)
    return f"{need} ✗ (wait {wait:.0%})"


def table(
    clusters: list[Path], lines: dict[str, tuple[dict[str, Any], str]], per_worker: float, mfu: float = MFU
) -> str:
    """The markdown table and, under it, the sources of every rate it uses."""
    rates = decode_rates(lines)
    head = "| file | node type | GPUs | GPU videos/s each | CPUs | decode CPUs | " + " | ".join(INPUTS) + " |"
    rows = [head, "|" + "---|" * (6 + len(INPUTS))]
    gpu_sources: dict[str, Rate] = {}
    for path in clusters:
        for node in load_cluster(path).node_types:
            gpus = int(node.resources.get("GPU", 0))
            if not gpus:
                continue
            gpu = gpu_of(node)
            g = gpu_sources.setdefault(gpu, gpu_rate(gpu, lines, mfu))
            cpus = node.resources.get("CPU", 0)
            available = cpus - gpus * per_worker
            cells = [cell(gpus, g.videos_per_s or 0.0, rates[name], available) for name in INPUTS]
            rows.append(
                f"| `{path.name}` | {node.label()} | {gpus}× {gpu} | {g.videos_per_s:.0f} | {cpus:g} | "
                f"{available:g} | " + " | ".join(cells) + " |"
            )
    notes = [
        f"- {name}: {r.videos_per_s:.1f} videos/s per core — {r.source}"
        if r.videos_per_s
        else f"- {name}: not measured"
        for name, r in rates.items()
    ]
    notes += [f"- {gpu}: {r.videos_per_s:.0f} training videos/s — {r.source}" for gpu, r in gpu_sources.items()]
    notes += measured_mfu_note(lines, mfu)
    notes.append(
        f"- decode CPUs = CPUs − GPUs × {per_worker:g} (`cpus_per_worker` of the GPU spaces); cells: CPUs "
        f"needed for data wait ≤ {MAX_WAIT:.0%} at {EFFICIENCY:g} parallel efficiency"
    )
    return "\n".join(rows + ["", *notes])


def replace_block(text: str, block: str) -> str:
    """`text` with the part between the markers replaced by `block` (markers kept); raises if they are missing."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"markers {BEGIN} ... {END} not found (in that order)")
    return text[: start + len(BEGIN)] + "\n" + block.strip() + "\n" + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rlx.bench.sizing", description=__doc__.split("\n")[0])
    parser.add_argument("--reports", default="reports/bench", help="folder of bench JSONL files")
    parser.add_argument("--clusters", default="clusters", help="folder of cluster YAMLs (its README gets the table)")
    parser.add_argument("--spaces", default="tune_spaces", help="search spaces (for cpus_per_worker)")
    parser.add_argument("--cpus-per-worker", type=float, help="instead of the spaces' value (what-if)")
    parser.add_argument("--mfu", type=float, help=f"MFU of GPUs not measured, 0-1 (default {MFU}; what-if)")
    parser.add_argument("--write", action="store_true", help="replace the table in <clusters>/README.md")
    args = parser.parse_args(argv)
    if args.write and (args.cpus_per_worker is not None or args.mfu is not None):
        parser.error("--write records the shipped spaces' cpus_per_worker and the planning MFU; a what-if only prints")
    if args.mfu is not None and not 0 < args.mfu <= 1:
        parser.error(f"--mfu is a fraction in (0, 1], got {args.mfu}")
    clusters = Path(args.clusters)
    per_worker = args.cpus_per_worker or cpus_per_worker(Path(args.spaces))
    text = table(sorted(clusters.glob("*.yaml")), latest_lines(Path(args.reports)), per_worker, args.mfu or MFU)
    print(text)
    if args.write:
        readme = clusters / "README.md"
        readme.write_text(replace_block(readme.read_text(encoding="utf-8"), text), encoding="utf-8")
        print(f"wrote the table into {readme}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
