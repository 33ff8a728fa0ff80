"""`python -m rlx.bench {data,model,train,families,tune,gpu,all} [--out FILE | --no-save] [--quick]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rlx.bench.common import BenchResult, default_output, emit

SUITES = ("data", "model", "train", "families", "tune", "gpu")
IN_ALL = ("model", "train", "data")  # families (~3 min of training), tune (~5 min of Ray trials), gpu: on request


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rlx.bench", description=__doc__)
    parser.add_argument("suite", choices=[*SUITES, "all"])
    parser.add_argument("--out", help="JSONL file to append to (default reports/bench/<date>-<host>.jsonl)")
    parser.add_argument("--no-save", action="store_true", help="print only, append nothing")
    parser.add_argument(
        "--quick", action="store_true", help="small shapes and few repeats (smoke-checks the benchmark code)"
    )
    args = parser.parse_args(argv)
    output = None if args.no_save else (Path(args.out) if args.out else default_output())

    results: list[BenchResult] = []
    for suite in IN_ALL if args.suite == "all" else (args.suite,):
        results += run_suite(suite, args.quick)
    emit(results, output)
    if output is not None:
        print(f"appended {len(results)} results to {output}", file=sys.stderr)
    return 0


def run_suite(suite: str, quick: bool) -> list[BenchResult]:
    """One suite's results. Its module is imported here, when it runs, so that `--help` and argument errors
    answer without importing torch (2.2 s) or Ray (1.2-1.4 s per module) and each suite pays only its own."""
    if suite == "model":
        from rlx.bench import model  # noqa: PLC0415

        return model.run(quick=quick)
    if suite == "train":
        from rlx.bench import train  # noqa: PLC0415

        return train.run(quick=quick)
    if suite == "families":
        from rlx.bench import families  # noqa: PLC0415

        return families.run(quick=quick)
    if suite == "tune":
        from rlx.bench import tune  # noqa: PLC0415

        return tune.run(quick=quick)
    if suite == "data":
        from rlx.bench import data  # noqa: PLC0415

        return data.run(quick=quick)
    if suite == "gpu":
        from rlx.bench import gpu  # noqa: PLC0415

        return gpu.run(quick=quick)
    raise ValueError(f"unknown benchmark suite {suite!r} ({', '.join(SUITES)})")


if __name__ == "__main__":
    sys.exit(main())
