"""`python -m rlx.bench {data,model,train,families,tune,all} [--out FILE | --no-save] [--quick]`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rlx.bench.common import BenchResult, default_output, emit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rlx.bench", description=__doc__)
    parser.add_argument("suite", choices=["data", "model", "train", "families", "tune", "all"])
    parser.add_argument("--out", help="JSONL file to append to (default reports/bench/<date>-<host>.jsonl)")
    parser.add_argument("--no-save", action="store_true", help="print only, append nothing")
    parser.add_argument("--quick", action="store_true", help="small shapes and few repeats (smoke-checks the benchmark code)")
    args = parser.parse_args(argv)
    output = None if args.no_save else (Path(args.out) if args.out else default_output())

    results: list[BenchResult] = []
    if args.suite in ("model", "all"):
        from rlx.bench import model

        results += model.run(quick=args.quick)
    if args.suite in ("train", "all"):
        from rlx.bench import train

        results += train.run(quick=args.quick)
    if args.suite == "families":  # ~3 min of training: not part of `all`
        from rlx.bench import families

        results += families.run(quick=args.quick)
    if args.suite == "tune":  # ~5 min of Ray trials: not part of `all`
        from rlx.bench import tune

        results += tune.run(quick=args.quick)
    if args.suite in ("data", "all"):
        from rlx.bench import data

        results += data.run(quick=args.quick)
    emit(results, output)
    if output is not None:
        print(f"appended {len(results)} results to {output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
