"""rlx.bench.common: the result line, the timers (with a fake clock) and the JSONL writer."""

import datetime
import json
import platform
import socket
from pathlib import Path

import pytest

from rlx.bench import common
from rlx.bench.common import BenchResult, cpu_name, default_output, emit, time_call, time_pair


class FakeClock:
    """`time.perf_counter` that advances only when a timed function says how long it took."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(common.time, "perf_counter", fake)
    return fake


def test_time_call_reports_median_and_min_after_warmup(clock):
    durations = iter([100.0, 3.0, 1.0, 2.0, 5.0, 4.0])  # the first call is the warm-up: not counted
    calls = []

    def fn() -> None:
        calls.append(1)
        clock.now += next(durations)

    assert time_call(fn, repeats=5, warmup=1) == {"median_s": 3.0, "min_s": 1.0, "repeats": 5}
    assert len(calls) == 6


def test_time_pair_alternates_baseline_and_candidate(clock):
    order = []

    def timed(name: str, seconds: float):
        def fn() -> None:
            order.append(name)
            clock.now += seconds

        return fn

    assert time_pair(timed("a", 2.0), timed("b", 0.5), repeats=3, warmup=1) == (2.0, 0.5)
    assert order == ["a", "b"] * 4  # warm-up pair, then A, B, A, B, A, B


def test_default_output_is_dated_per_host(tmp_path):
    name = f"{datetime.date.today().isoformat()}-{socket.gethostname()}.jsonl"
    assert default_output(tmp_path) == tmp_path / name
    assert default_output() == Path("reports") / "bench" / name


def test_emit_prints_and_appends_one_json_line_per_result(tmp_path, capsys):
    out = tmp_path / "sub" / "bench.jsonl"
    a = BenchResult("x.a", 1.5, "x", "base", "cand", {"k": 1})
    b = BenchResult("x.b", 2.0, "s", "base", "cand")
    emit([a], out)
    emit([b], out)
    lines = out.read_text().splitlines()
    assert [json.loads(line)["name"] for line in lines] == ["x.a", "x.b"]
    assert json.loads(lines[0]) == {
        "name": "x.a",
        "value": 1.5,
        "unit": "x",
        "baseline": "base",
        "candidate": "cand",
        "details": {"k": 1},
    }
    assert capsys.readouterr().out.splitlines() == lines
    emit([a], None)  # print only
    assert capsys.readouterr().out.strip() == a.to_json() and len(out.read_text().splitlines()) == 2


def test_cpu_name_is_the_model_name_line(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nflags\t\t: fpu\n\n" * 2)
    assert cpu_name(cpuinfo) == "AMD EPYC"
    assert cpu_name(tmp_path / "missing") == (platform.processor() or platform.machine())
