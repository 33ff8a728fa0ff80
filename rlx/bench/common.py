"""Result format, timing helper and the reports/bench writer shared by benchmarks."""

from __future__ import annotations

import datetime as _dt
import json
import platform
import socket
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class BenchResult:
    """One benchmark line: `value` is candidate over baseline (unit "x") or a raw figure."""

    name: str
    value: float
    unit: str
    baseline: str
    candidate: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=False)


def time_call(fn: Callable[[], Any], *, repeats: int = 5, warmup: int = 1) -> dict[str, float]:
    """Wall time of `fn()` in seconds: median and min over `repeats` after `warmup` calls.

    The median is what we compare: on a shared 2-core machine single calls are
    noisy, and the minimum alone flatters whichever side got a quiet moment.
    """
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {"median_s": statistics.median(times), "min_s": min(times), "repeats": repeats}


def time_pair(
    baseline: Callable[[], Any], candidate: Callable[[], Any], *, repeats: int = 5, warmup: int = 1
) -> tuple[float, float]:
    """Median wall times (baseline, candidate), measured alternately.

    Alternating A, B, A, B… exposes both sides to the same background load
    on a shared machine, so the ratio drifts far less than with A×n then B×n.
    """
    for _ in range(warmup):
        baseline()
        candidate()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for fn, bucket in ((baseline, times[0]), (candidate, times[1])):
            start = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def cpu_name(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name ("AMD EPYC", "Intel(R) Xeon(R) …"): which machine a per-core figure comes from.

    `platform.processor()` says only "x86_64" on Linux, and this project's VMs differ by CPU between sessions.
    """
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    return platform.processor() or platform.machine()


def default_output(root: Path | None = None) -> Path:
    root = root or Path("reports") / "bench"
    date = _dt.date.today().isoformat()
    return root / f"{date}-{socket.gethostname()}.jsonl"


def emit(results: list[BenchResult], output: Path | None) -> None:
    """Print each result as a JSON line and append them to `output` (if given)."""
    lines = [r.to_json() for r in results]
    for line in lines:
        print(line, flush=True)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
