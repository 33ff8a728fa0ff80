"""The model benchmark runs and writes well-formed lines (no timing asserts)."""
import json

from rlx.bench import model
from rlx.bench.__main__ import main


def test_quick_model_bench_results_are_ratios_with_baselines():
    results = model.run(quick=True)
    names = {r.name for r in results}
    assert {"model.two_branch_vs_tsn_step_time", "model.two_branch_vs_tsn_params", "model.two_branch_vs_tsn_flops"} <= names
    for r in results:
        assert r.unit == "x" and r.value > 0 and r.baseline and r.candidate
    params = next(r for r in results if r.name == "model.two_branch_vs_tsn_params")
    assert params.value == round(params.details["two_branch"] / params.details["tsn"], 3)
    assert params.value > 1  # the relational branch adds parameters


def test_cli_appends_json_lines(tmp_path, capsys):
    out = tmp_path / "bench.jsonl"
    assert main(["model", "--quick", "--out", str(out)]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    saved = [json.loads(line) for line in out.read_text().splitlines()]
    assert printed == saved and len(saved) >= 4
    assert set(saved[0]) == {"name", "value", "unit", "baseline", "candidate", "details"}


def test_quick_train_bench_measures_the_data_path(tmp_path, monkeypatch):
    from rlx.bench import train

    monkeypatch.setenv("RLX_CACHE", str(tmp_path))
    (result,) = train.run(quick=True)
    assert result.name == "train.steps_with_data_vs_compute_only" and result.value > 0
    assert 0.0 <= result.details["data_wait_fraction"] < 1.0
    assert result.details["steps_per_s_compute_only"] > 0
