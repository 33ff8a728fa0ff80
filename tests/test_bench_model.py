"""rlx.bench.model: the quick run returns ratios with their baselines (no timing asserts)."""

from rlx.bench import model


def test_quick_model_bench_results_are_ratios_with_baselines():
    results = model.run(quick=True)
    names = {r.name for r in results}
    assert {
        "model.two_branch_vs_tsn_step_time",
        "model.two_branch_vs_tsn_params",
        "model.two_branch_vs_tsn_flops",
    } <= names
    for r in results:
        assert r.unit == "x" and r.value > 0 and r.baseline and r.candidate
    params = next(r for r in results if r.name == "model.two_branch_vs_tsn_params")
    assert params.value == round(params.details["two_branch"] / params.details["tsn"], 3)
    assert params.value > 1  # the relational branch adds parameters
