"""`python -m rlx.data {synth,index,check,flow,cache}` — the data command line.

Each handler parses nothing itself: argparse owns the contract of
ARCHITECTURE.md, the handler calls one library function and prints a summary.
None of the modules imported here imports torch or ray, so `--help` needs
neither. Errors in user input exit 2 with one line naming the file or key.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rlx.data import cache, flow, probe, splits, synthetic

TIMEOUT_HELP = (
    f"seconds one video may take before it is marked corrupt, a stuck decoder (default {probe.DEFAULT_TIMEOUT_S:g})"
)


class UserInputError(Exception):
    """Bad input from the user: reported as one line, exit code 2."""


def _cmd_synth(args: argparse.Namespace) -> int:
    summary = synthetic.write_benchmark(
        Path(args.out),
        videos_per_class=args.videos_per_class,
        frames=args.frames,
        size=args.size,
        seed=args.seed,
    )
    print(summary)
    return 0


def _path(text: str | None) -> Path | None:
    return Path(text) if text else None


def _cmd_index(args: argparse.Namespace) -> int:
    if args.format in splits.DATASETS and not args.annotations:
        raise UserInputError(f"--format {args.format} needs --annotations DIR (the official split files)")
    if args.format == "folder" and not args.videos:
        raise UserInputError("--format folder needs --videos DIR (the root of the class folders)")
    sources = splits.FormatSources(
        annotations=_path(args.annotations),
        split=args.split,
        root=_path(args.videos),
        train_list=_path(args.train_list),
        test_list=_path(args.test_list),
        test_fraction=args.test_fraction,
        seed=args.seed,
        class_names=_path(args.class_names),
        multilabel=args.multilabel,
    )
    index = splits.index_from(args.format, sources)
    if args.classes:
        index = splits.select_classes(index, args.classes)
    if args.probe:
        if not args.videos:
            raise UserInputError("--probe needs --videos DIR (the folder the index paths are relative to)")
        index = probe.probe_index(
            index,
            Path(args.videos),
            min_frames=args.min_frames,
            workers=args.workers,
            timeout=args.timeout or probe.DEFAULT_TIMEOUT_S,
        )
    splits.write_index(index, Path(args.out))
    print(splits.describe_index(index))
    if args.probe:
        print(probe.describe_status(index))
    print(f"wrote {args.out}")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    index = splits.read_index(Path(args.index))
    index = probe.probe_index(
        index,
        Path(args.videos),
        min_frames=args.min_frames,
        workers=args.workers,
        timeout=args.timeout or probe.DEFAULT_TIMEOUT_S,
    )
    print(probe.describe_status(index, list_bad=True))
    if args.out:
        splits.write_index(index, Path(args.out))
        print(f"wrote {args.out}")
    return 0


def _cmd_flow(args: argparse.Namespace) -> int:
    summary = flow.extract_index(
        Path(args.index),
        Path(args.videos),
        Path(args.out),
        algorithm=args.algorithm,
        bound=args.bound,
        use_ray=not args.no_ray,
        workers=args.workers,
        ray_address=args.ray_address,
    )
    print(summary)
    return 0


def _cmd_cache(args: argparse.Namespace) -> int:
    params = cache.CacheParams(
        format=args.format, short_side=args.short_side, jpeg_quality=args.quality, gop=args.gop, crf=args.crf
    )
    summary = cache.cache_index(
        Path(args.index),
        Path(args.out),
        params,
        videos=_path(args.videos),
        use_ray=not args.no_ray,
        workers=args.workers,
        ray_address=args.ray_address,
    )
    print(summary)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rlx.data", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synth", help="write the synthetic relational benchmark as real video files")
    p.add_argument("--out", required=True, help="output folder (videos/ and annotations/ are created in it)")
    p.add_argument("--videos-per-class", type=int, default=24)
    p.add_argument("--frames", type=int, default=40)
    p.add_argument("--size", type=int, default=96, help="frame side in pixels")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=_cmd_synth)

    p = sub.add_parser("index", help="parse a dataset's annotations (official, class folders, mmaction2 lists)")
    # --dataset: the name this option had when only the official formats existed.
    p.add_argument("--format", "--dataset", dest="format", required=True, choices=splits.FORMATS)
    p.add_argument("--annotations", help="ucf101/hmdb51/charades: folder holding the official annotation files")
    p.add_argument(
        "--videos", help="videos (or rawframes) root, paths in the index are relative to it; folder: the class tree"
    )
    p.add_argument("--split", type=int, default=1, choices=[1, 2, 3], help="official formats: which split")
    p.add_argument("--train-list", help="mmaction-*: the train list; folder: optional, with --test-list")
    p.add_argument("--test-list", help="mmaction-*: the test list; folder: '<class>/<video>' lines that are test")
    p.add_argument(
        "--test-fraction", type=float, default=0.0, help="folder without lists: stratified test fraction per class"
    )
    p.add_argument("--seed", type=int, default=0, help="folder with --test-fraction: which videos are test")
    p.add_argument("--class-names", help="mmaction-*: one class name a line, line k = label k (default: '0'..'K-1')")
    p.add_argument("--multilabel", action="store_true", help="mmaction-*: lines may carry several labels")
    p.add_argument(
        "--classes", nargs="+", help="keep only these classes (names or ids), relabelled 0..k-1 (as data.classes)"
    )
    p.add_argument("--out", required=True, help="index.parquet to write")
    p.add_argument("--probe", action="store_true", help="open every video and fill num_frames, fps, status")
    p.add_argument("--min-frames", type=int, default=1, help="fewer decodable frames than this -> too_short")
    p.add_argument("--workers", type=int, default=0, help="probe processes (0: one per CPU)")
    p.add_argument("--timeout", type=float, default=None, help=TIMEOUT_HELP)
    p.set_defaults(handler=_cmd_index)

    p = sub.add_parser("check", help="probe every video of an index: which files are missing or corrupt?")
    p.add_argument("--index", required=True)
    p.add_argument("--videos", required=True)
    p.add_argument("--out", help="write the probed index here")
    p.add_argument("--min-frames", type=int, default=1)
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--timeout", type=float, default=None, help=TIMEOUT_HELP)
    p.set_defaults(handler=_cmd_check)

    p = sub.add_parser("flow", help="extract TV-L1 optical flow to flow_x_/flow_y_ JPEGs (resumable, on Ray)")
    p.add_argument("--index", required=True)
    p.add_argument("--videos", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--algorithm", default="tvl1", choices=flow.ALGORITHMS)
    p.add_argument(
        "--bound",
        type=float,
        default=flow.DEFAULT_BOUND,
        help="flow values are clipped to ±bound before 8-bit quantisation",
    )
    p.add_argument("--no-ray", action="store_true", help="use a local process pool instead of Ray tasks")
    p.add_argument("--workers", type=int, default=0, help="with --no-ray: processes (0: one per CPU, 1: serial)")
    p.add_argument(
        "--ray-address", help="Ray cluster to use (default: RAY_ADDRESS, a running `ray start` cluster, else local Ray)"
    )
    p.set_defaults(handler=_cmd_flow)

    defaults = cache.CacheParams()
    p = sub.add_parser(
        "cache", help="rewrite an index's RGB videos once into a fast training cache (resumable, on Ray)"
    )
    p.add_argument("--index", required=True, help="index.parquet (with --videos) or a prepared dataset folder")
    p.add_argument("--videos", help="root the index paths are relative to (default for a prepared folder: its own)")
    p.add_argument("--out", required=True, help="cache folder: videos/, index.parquet, failed.csv, cache.json")
    p.add_argument(
        "--format",
        default=defaults.format,
        choices=cache.FORMATS,
        help="jpeg: TSN rawframes (fastest to train on); h264: short-GOP MP4 (~6x smaller, needs data.decoder=decord)",
    )
    p.add_argument("--short-side", type=int, default=defaults.short_side, help="frames resized to it (0: stored size)")
    p.add_argument("--quality", type=int, default=defaults.jpeg_quality, help="jpeg: JPEG quality 1-100")
    p.add_argument("--gop", type=int, default=defaults.gop, help="h264: a keyframe every GOP frames")
    p.add_argument("--crf", type=int, default=defaults.crf, help="h264: x264 constant rate factor (lower = better)")
    p.add_argument("--no-ray", action="store_true", help="use a local process pool instead of Ray tasks")
    p.add_argument("--workers", type=int, default=0, help="with --no-ray: processes (0: one per CPU, 1: serial)")
    p.add_argument(
        "--ray-address", help="Ray cluster to use (default: RAY_ADDRESS, a running `ray start` cluster, else local Ray)"
    )
    p.set_defaults(handler=_cmd_cache)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (UserInputError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
