"""One group of a search as Tune sees it: its param_space, and how many trials run at once."""

import dataclasses
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
from ray import tune

from rlx.tune.run import (
    max_concurrent_trials,
    param_space,
    queued_trial_waits,
    summarize,
    trial_cpus,
    tune_domain,
)
from rlx.tune.space import Resources, Sampler, load_space

SMOKE = Path(__file__).resolve().parents[1] / "tune_spaces" / "smoke.yaml"


@pytest.fixture
def space(whole_cpu_smoke):
    return whole_cpu_smoke


def test_samplers_become_tune_domains():
    assert tune_domain(Sampler("grid", ("local", "tsn"))) == {"grid_search": ["local", "tsn"]}
    assert tune_domain(Sampler("choice", (4, 8))).categories == [4, 8]
    uniform = tune_domain(Sampler("uniform", (0.5, 0.9)))
    assert isinstance(uniform, tune.search.sample.Float) and (uniform.lower, uniform.upper) == (0.5, 0.9)
    log = tune_domain(Sampler("loguniform", (1e-4, 1e-2)))
    assert isinstance(log.get_sampler(), tune.search.sample.Float._LogUniform)
    assert (tune_domain(Sampler("randint", (64, 96))).lower, tune_domain(Sampler("randint", (64, 96))).upper) == (
        64,
        97,
    )  # randint high is inclusive in the file, exclusive in Tune


def test_param_space_is_the_group_plus_the_samplers(space):
    (group,) = space.groups()
    params = param_space(space, group)
    assert params["model.arch"] == {"grid_search": ["local", "nonlocal", "two_branch"]}
    assert {k: v for k, v in params.items() if k != "model.arch"} == group.flat
    assert params["train.num_workers"] == 1 and params["data.modality"] == "rgb"


def test_the_shipped_smoke_search_trains_two_trials_at_once_on_two_cpus_in_one_thread_each():
    smoke = load_space(SMOKE, check_data=False)
    cfg = smoke.sample_config(smoke.groups()[0])
    assert trial_cpus(smoke, {"CPU": 2}) == pytest.approx(0.75)  # 0.5 + 1 decode task × 0.24 + its driver's 0.01
    assert max_concurrent_trials(smoke, {"CPU": 2}) == 2 and not queued_trial_waits(smoke, {"CPU": 2})
    assert cfg.train.worker_threads == 1  # as one trial at a time trained (1-CPU workers): the same results


def test_concurrency_counts_the_workers_and_the_decode_tasks(space):
    # 1 worker × (1 CPU + 1 decode task × 0.5 CPU) = 1.5 CPUs per trial: each worker decodes its shard
    cfg = space.sample_config(space.groups()[0])
    assert (cfg.data.loader_tasks, cfg.data.loader_cpus) == (1, 0.5)
    assert max_concurrent_trials(space, {"CPU": 10}) == 6
    assert trial_cpus(space, {"CPU": 2}) == pytest.approx(1.51)  # its driver's 0.01 on a local Ray
    assert trial_cpus(space, {"CPU": 0, "train_driver": 8}) == 1.5  # the shipped clusters: drivers on the head
    assert max_concurrent_trials(space, {"CPU": 3.02}) == 2 and max_concurrent_trials(space, {"CPU": 3}) == 1
    assert max_concurrent_trials(space, {"CPU": 1}) == 1  # never 0: one trial waits for resources instead
    gpu = dataclasses.replace(space, resources=Resources(workers_per_trial=2, gpus_per_worker=1, cpus_per_worker=1))
    assert max_concurrent_trials(gpu, {"CPU": 64, "GPU": 5}) == 2  # 2 GPUs per trial: the GPUs bind first


def test_a_trial_is_queued_only_where_its_workers_cannot_start_beside_the_running_ones(space):
    # smoke on 2 CPUs: one trial runs (1.51 CPUs); the next one's worker (1 CPU) cannot fit in 2 - 1 - 2 x 0.01
    assert max_concurrent_trials(space, {"CPU": 2}) == 1 and queued_trial_waits(space, {"CPU": 2})
    assert queued_trial_waits(space, {"CPU": 3.02})  # 2 run; 3.02 - 2 - 0.03 = 0.99 left
    # 4 CPUs: 2 run and 1.97 CPUs are left; a third worker would fit there and take the decode tasks' CPUs
    assert not queued_trial_waits(space, {"CPU": 4})
    assert not queued_trial_waits(space, {"CPU": 2, "train_driver": 4})  # drivers on the head: 1 CPU is left
    gpu = dataclasses.replace(space, resources=Resources(workers_per_trial=2, gpus_per_worker=1, cpus_per_worker=1))
    assert queued_trial_waits(gpu, {"CPU": 64, "GPU": 5})  # 2 trials hold 4 GPUs; one is left for 2 workers
    assert queued_trial_waits(gpu, {"CPU": 4, "GPU": 8})  # CPU-bound: 1 runs, 1.98 CPUs left for 2 workers
    assert not queued_trial_waits(gpu, {"CPU": 5.5, "GPU": 8})


class _Results(list):
    """What `summarize` reads of Tune's ResultGrid: its results (config, last metrics) and errors."""

    errors: tuple = ()


def test_the_best_trial_is_chosen_by_its_final_value_and_a_tie_goes_to_the_earlier_trial(space):
    (group,) = space.groups()

    def result(arch, top1, trial_id):
        return SimpleNamespace(config={"model.arch": arch}, metrics={"val/top1": top1, "trial_id": trial_id})

    # two trials ran at once: the later one finished (and is listed) first
    results = _Results(
        [result("two_branch", 0.8, "ab12c_00002"), result("nonlocal", 0.8, "ab12c_00001"), result("local", 0.5, "x")]
    )
    summary = summarize(space, group, results)
    assert summary["best"] == {"model.arch": "nonlocal"} and summary["val/top1"] == 0.8 and summary["trials"] == 3
    results.append(result("local", math.nan, "ab12c_00000"))  # a NaN is no best
    assert summarize(space, group, results)["best"] == {"model.arch": "nonlocal"}
