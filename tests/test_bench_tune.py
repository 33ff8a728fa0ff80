"""rlx.bench.tune: the search space of the overhead benchmark (the Ray runs are the benchmark itself)."""

from rlx.bench import tune
from rlx.bench.tune_trials import MINIMAL_TRIAL


def test_minimal_space_is_one_fifo_group_of_tsn_trials_on_the_smallest_config():
    space = tune.minimal_space(3)
    (group,) = space.groups()
    cfg = space.sample_config(group)
    assert space.num_samples == 3 and space.scheduler.type == "fifo" and space.axes == {}
    assert cfg.model.arch == "tsn" and cfg.data.dataset == "synthetic"
    assert cfg.to_flat() | MINIMAL_TRIAL == cfg.to_flat()  # every minimal key is in the trial's config
