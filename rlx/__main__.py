"""`rlx COMMAND …` (or `python -m rlx COMMAND …`): one entry point for every rlx command.

    rlx data …     index, probe, check, flow, synth   (= python -m rlx.data …)
    rlx train …    one training run                    (= python -m rlx.train …)
    rlx tune …     a search                            (= python -m rlx.tune …)
    rlx report …   tables and plots from MLflow        (= python -m rlx.report …)
    rlx bench …    benchmarks                          (= python -m rlx.bench …)
    rlx models …   build a model, one step, its size   (= python -m rlx.models …)

Each command's own `--help` lists its options.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable

# The command's module is imported only once it is chosen: `rlx --help` and a typo stay instant, and each
# command keeps the start-up it has under `python -m` (torch, Ray and MLflow load only where they are used).
COMMANDS = {
    "data": "rlx.data.__main__",
    "train": "rlx.train.__main__",
    "tune": "rlx.tune.__main__",
    "report": "rlx.report.__main__",
    "bench": "rlx.bench.__main__",
    "models": "rlx.models.__main__",
}


def usage() -> str:
    return (__doc__ or "").strip()


def command_main(name: str) -> Callable[[list[str]], int]:
    return importlib.import_module(COMMANDS[name]).main


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"error: unknown command {name!r}; choose one of: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    if name == "train":  # as `python -m rlx.train` does: every worker's progress line, not deduplicated
        os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    return command_main(name)(rest)


if __name__ == "__main__":
    sys.exit(main())
