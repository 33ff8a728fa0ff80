"""rlx.bench.tune_trials: the ASHA benchmark's generated problem (the Ray runs are the benchmark itself)."""

import torch

from rlx.bench import tune_trials as bench


def test_generated_problem_is_deterministic_and_needs_a_nonlinear_model():
    x, y, xv, yv = bench.make_problem(seed=0)
    x2, y2, _, _ = bench.make_problem(seed=0)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert x.shape == (2000, 8) and xv.shape == (1000, 8)
    counts = torch.bincount(torch.cat([y, yv]), minlength=4)
    assert (counts > 400).all()  # every class well represented
    clean = 2 * (x[:, 0] * x[:, 1] > 0).long() + (x[:, 2] ** 2 + x[:, 3] ** 2 > 1.4).long()
    flipped = (clean != y).float().mean().item()
    assert 0.02 < flipped < 0.06  # 5 % relabelled at random (a quarter of them to the same class)
    # Least squares on one-hot targets (the best linear map) stays far below the labels' ceiling.
    xb = torch.cat([x, torch.ones(len(x), 1)], 1)
    w = torch.linalg.lstsq(xb, torch.nn.functional.one_hot(y, 4).float()).solution
    linear_acc = ((torch.cat([xv, torch.ones(len(xv), 1)], 1) @ w).argmax(1) == yv).float().mean().item()
    assert linear_acc < 0.5


def test_reused_trial_actors_generate_the_problem_once():
    first, again = bench.default_problem(), bench.default_problem()
    assert first is again and torch.equal(first[0], bench.make_problem()[0])
