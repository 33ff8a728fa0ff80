"""Starting vs resuming a search: a second search of the same name is refused unless it resumes the same space."""

import dataclasses
from pathlib import Path

import pytest

from rlx.tracking import open_run
from rlx.tune import search
from rlx.tune.search import publish_report, restart_problem, space_digest
from rlx.tune.space import SpaceError, load_space

SMOKE = Path(__file__).resolve().parents[1] / "tune_spaces" / "smoke.yaml"


@pytest.fixture
def space(whole_cpu_smoke):
    return whole_cpu_smoke


def test_digest_changes_with_what_the_search_trains():
    space, same = load_space(SMOKE, check_data=False), load_space(SMOKE, check_data=False)
    assert space_digest(space) == space_digest(same)
    assert space_digest(space) != space_digest(dataclasses.replace(space, fixed={**space.fixed, "optim.lr": 0.1}))
    assert space_digest(space) != space_digest(dataclasses.replace(space, num_samples=2))
    # where the space file lives does not matter
    assert space_digest(space) == space_digest(dataclasses.replace(space, path="elsewhere/smoke.yaml"))


PINNED = """
name: digest-test
description: a space whose fingerprint is pinned
fixed: {data.dataset: synthetic, optim.epochs: 2, optim.milestones: [1]}
axes:
  stream:
    - {name: rgb, data.modality: rgb}
    - {name: flow, data.modality: flow, data.new_length: 5}
  data.split: [1, 2]
search:
  model.arch: {grid: [local, two_branch]}
  optim.lr: {loguniform: [0.0001, 0.01], role: nuisance}
num_samples: 2
scheduler: {type: asha, grace_period: 1, reduction_factor: 2}
resources: {workers_per_trial: 1, gpus_per_worker: 0, cpus_per_worker: 1}
fusion: {step: 0.1}
"""


def test_digest_is_stable_across_versions(tmp_path):
    # --resume compares this with the fingerprint recorded when the search started: a refactor of the space
    # classes (their names, fields, how bundles are held) must not change it, or every resume is refused.
    path = tmp_path / "space.yaml"
    path.write_text(PINNED)
    assert space_digest(load_space(path, check_data=False)) == "df21d69016e43d40"


def test_new_search_is_refused_when_one_of_that_name_exists(space, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    storage = tmp_path / "runs"
    digest = space_digest(space)
    assert restart_problem(space, False, str(storage), uri, digest) is None
    assert restart_problem(space, True, str(storage), uri, digest) is None  # --resume of nothing starts fresh

    (storage / "smoke-modality_rgb").mkdir(parents=True)  # Tune results without an MLflow run
    problem = restart_problem(space, False, str(storage), uri, digest)
    assert "already has results" in problem and "smoke-modality_rgb" in problem and "--resume" in problem

    open_run("smoke", "search-smoke", tracking_uri=uri, tags={"rlx.space_digest": digest})
    problem = restart_problem(space, False, str(tmp_path / "elsewhere"), uri, digest)
    assert "MLflow experiment 'smoke'" in problem
    assert restart_problem(space, True, str(storage), uri, digest) is None


def test_resume_with_a_changed_space_is_refused(space, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    open_run("smoke", "search-smoke", tracking_uri=uri, tags={"rlx.space_digest": space_digest(space)})
    changed = dataclasses.replace(space, fixed={**space.fixed, "optim.epochs": 3})
    problem = restart_problem(changed, True, str(tmp_path / "runs"), uri, space_digest(changed))
    assert "changed since search 'smoke' ran" in problem and str(SMOKE) in problem


def test_a_failed_report_is_a_warning_not_a_lost_search(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    parent = open_run("smoke", "search-smoke", tracking_uri=uri, tags={"rlx.kind": "search"})
    assert publish_report("smoke", parent.run_id, uri) is False  # no finished trial to report
    out = capsys.readouterr().out.strip()
    assert out.startswith("warning: report of smoke not logged to MLflow (ReportError(") and "\n" not in out
    assert out.endswith("retry: python -m rlx.report --experiment smoke --log")


def test_a_trial_larger_than_the_local_machine_is_refused_not_left_waiting(space, monkeypatch):
    # 1 worker × (1 CPU + 1 decode task × 0.5) + the driver's 0.01: 1.51 CPUs, on a 1.5-CPU local Ray
    monkeypatch.setattr(search.ray, "is_initialized", lambda: True)
    monkeypatch.setattr(search.ray, "cluster_resources", lambda: {"CPU": 1.5})
    with pytest.raises(SpaceError) as err:
        search._start_ray(space, search.SearchOptions(address="local"))
    assert str(err.value) == (
        f"{SMOKE}: resources: a trial needs 1.51 CPUs (workers_per_trial × (cpus_per_worker + data.loader_tasks × "
        "data.loader_cpus), and 0.01 for its driver) but this machine's Ray has 1.5"
    )
    monkeypatch.setattr(search.ray, "cluster_resources", lambda: {"CPU": 1.5, "train_driver": 4})
    assert search._start_ray(space, search.SearchOptions(address="ray://head:10001")) == 1  # may scale: waits


def test_a_local_ray_starts_the_next_trial_while_one_trains_a_cluster_does_not(space, monkeypatch, capsys):
    monkeypatch.setattr(search.ray, "is_initialized", lambda: True)
    monkeypatch.setattr(search.ray, "cluster_resources", lambda: {"CPU": 2})
    assert search._start_ray(space, search.SearchOptions(address="local")) == 2  # 1 running + 1 queued
    assert (
        capsys.readouterr().out
        == "cluster: 2 CPUs, 0 GPUs -> up to 1 trial(s) at once, the next one starting up meanwhile\n"
    )
    # A cluster may grow: a queued trial's placement group could start nodes, so Tune starts only what fits.
    assert search._start_ray(space, search.SearchOptions(address="ray://head:10001")) == 1
    monkeypatch.setattr(search.ray, "cluster_resources", lambda: {"CPU": 4})
    assert search._start_ray(space, search.SearchOptions(address="local")) == 2  # 2 run; a third would fit: none queued
