"""Which node type a trial lands on (`rlx.tune --dry-run --cluster FILE`), and the errors when none fits."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rlx.tune.__main__ import main
from rlx.tune.placement import ClusterSpec, NodeType, PlacementError, load_cluster, place_groups, place_trial
from rlx.tune.space import load_space

ROOT = Path(__file__).resolve().parents[1]

CLUSTER = ClusterSpec(
    "c.yaml",
    (
        NodeType("head", {"CPU": 0, "train_driver": 4}, 1),
        NodeType("cpu", {"CPU": 32}, 4),
        NodeType("gpu8", {"CPU": 96, "GPU": 8}, 2, "p4d.24xlarge"),  # listed before the small one on purpose
        NodeType("gpu1", {"CPU": 16, "GPU": 1}, 8, "g5.4xlarge"),
    ),
)
GPU_WORKER = {"CPU": 8, "GPU": 1}


def test_a_one_gpu_trial_lands_on_the_smallest_gpu_node_and_a_cpu_trial_on_a_cpu_node():
    one = place_trial(GPU_WORKER, 1, "PACK", CLUSTER)
    assert (one.node_type.name, one.nodes_per_trial, one.trials_per_node) == ("gpu1", 1, 1)
    cpu = place_trial({"CPU": 2}, 1, "PACK", CLUSTER)
    assert (cpu.node_type.name, cpu.trials_per_node) == ("cpu", 16)  # never the GPU nodes, never the CPU-0 head


def test_a_four_gpu_trial_lands_on_the_eight_gpu_node_two_trials_per_node():
    four = place_trial(GPU_WORKER, 4, "STRICT_PACK", CLUSTER)
    assert (four.node_type.name, four.nodes_per_trial, four.workers_per_node, four.trials_per_node) == ("gpu8", 1, 4, 2)
    assert four.max_concurrent_trials == 4  # 2 nodes × 2 trials, although the cluster starts with 0 GPUs
    assert place_trial(GPU_WORKER, 4, "PACK", CLUSTER).node_type.name == "gpu8"


def test_spread_and_too_large_trials_span_nodes():
    spread = place_trial(GPU_WORKER, 4, "STRICT_SPREAD", CLUSTER)
    assert (spread.node_type.name, spread.nodes_per_trial, spread.workers_per_node) == ("gpu1", 4, 1)
    sixteen = place_trial(GPU_WORKER, 16, "PACK", CLUSTER)  # no node holds 16 GPUs: 2 × gpu8
    assert (sixteen.node_type.name, sixteen.nodes_per_trial, sixteen.workers_per_node) == ("gpu8", 2, 8)
    assert "2 × gpu8 (p4d.24xlarge), up to 1 at once" == sixteen.describe()
    assert place_trial(GPU_WORKER, 1, "PACK", CLUSTER).max_concurrent_trials == 8


def test_clear_errors_when_no_node_type_fits():
    with pytest.raises(PlacementError, match=r"c.yaml: no node type holds one worker of \{CPU 8, GPU 2\}"):
        place_trial(
            {"CPU": 8, "GPU": 2}, 1, "PACK", ClusterSpec("c.yaml", (NodeType("gpu1", {"CPU": 16, "GPU": 1}, 8),))
        )
    with pytest.raises(PlacementError, match="STRICT_PACK needs one node for 16"):
        place_trial(GPU_WORKER, 16, "STRICT_PACK", CLUSTER)
    with pytest.raises(PlacementError, match="max_workers"):
        place_trial(GPU_WORKER, 24, "PACK", CLUSTER)  # 3 × gpu8 but max_workers is 2


def test_simple_description_and_its_errors(tmp_path):
    good = tmp_path / "c.yaml"
    good.write_text(yaml.safe_dump({"node_types": {"a": {"resources": {"CPU": 4, "GPU": 1}, "max_workers": 2}}}))
    assert load_cluster(good).node_types == (NodeType("a", {"CPU": 4.0, "GPU": 1.0}, 2),)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"node_types": {"a": {"resources": {"CPU": 4}, "max_worker": 2}}}))
    with pytest.raises(PlacementError, match=r"bad.yaml: node_types.a.max_worker: unknown key") as err:
        load_cluster(bad)
    assert (err.value.file, err.value.key) == (str(bad), "node_types.a.max_worker")
    bad.write_text(yaml.safe_dump({"node_types": {"a": {"max_workers": 2}}}))
    with pytest.raises(PlacementError, match=r"node_types.a.resources: give the node's resources explicitly") as err:
        load_cluster(bad)
    assert err.value.key == "node_types.a.resources"
    with pytest.raises(PlacementError, match="not a cluster description") as err:
        bad.write_text("foo: 1\n")
        load_cluster(bad)
    assert err.value.key == ""


@pytest.mark.parametrize("name", ["aws-gpu.yaml", "gcp-gpu.yaml"])
def test_shipped_launcher_yamls_parse_into_node_types(name):
    spec = load_cluster(ROOT / "clusters" / name)
    types = {n.name: n for n in spec.node_types}
    assert types[spec.head].resources["CPU"] == 0 and types[spec.head].resources["train_driver"] >= 1
    gpus = sorted(n.resources.get("GPU", 0) for n in spec.node_types)
    assert gpus[-1] == 8 and 1 in gpus


def test_kuberay_manifest_parses_into_node_types():
    spec = load_cluster(ROOT / "clusters" / "kuberay-rayjob.yaml")
    types = {n.name: n for n in spec.node_types}
    assert types["head"].resources.get("CPU", 0) == 0 and types["head"].resources["train_driver"] >= 1
    assert any(n.resources.get("GPU") == 1 for n in spec.node_types)


def test_dry_run_with_cluster_prints_the_node_type_per_group(capsys):
    # Data paths live on the cluster: a dry run with --cluster does not look for them here.
    code = main(
        [
            "--space",
            str(ROOT / "tune_spaces" / "paper-hmdb51.yaml"),
            "--dry-run",
            "--cluster",
            str(ROOT / "clusters" / "aws-gpu.yaml"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    rows = [line for line in out.splitlines() if line.startswith("cell=")]
    assert rows and all("p4d.24xlarge" in line and "2 trial(s)/node" in line for line in rows)
    code = main(
        [
            "--space",
            str(ROOT / "tune_spaces" / "hpo.yaml"),
            "--dry-run",
            "--cluster",
            str(ROOT / "clusters" / "gcp-gpu.yaml"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "g2-standard-16" in out


def test_dry_run_exits_2_when_no_node_type_fits(tmp_path, capsys):
    small = tmp_path / "small.yaml"
    small.write_text(yaml.safe_dump({"node_types": {"gpu1": {"resources": {"CPU": 16, "GPU": 1}, "max_workers": 1}}}))
    code = main(["--space", str(ROOT / "tune_spaces" / "paper-hmdb51.yaml"), "--dry-run", "--cluster", str(small)])
    err = capsys.readouterr().err
    assert code == 2
    # paper-hmdb51.yaml keeps a trial's 4 GPU workers on one node (STRICT_PACK): no 1-GPU node type can
    assert "paper-hmdb51.yaml: resources" in err and "small.yaml" in err and "STRICT_PACK needs one node for 4" in err


def test_a_group_that_fits_nowhere_names_the_space_and_the_group(tmp_path):
    small = ClusterSpec("small.yaml", (NodeType("gpu1", {"CPU": 16, "GPU": 1}, 1),))
    space = load_space(ROOT / "tune_spaces" / "paper-hmdb51.yaml", check_data=False, cluster={"CPU": 96, "GPU": 8})
    with pytest.raises(PlacementError) as err:
        place_groups(space, small)
    first = space.groups()[0].key
    assert (err.value.file, err.value.key) == (space.path, f"resources (group {first})")
    assert err.value.reason.startswith("small.yaml: STRICT_PACK needs one node for 4 × {CPU 2, GPU 1}")
