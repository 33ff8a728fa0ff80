"""Offline checks of clusters/: the launcher YAMLs pass Ray's own cluster-config validation, nothing is open
to the world, the KubeRay manifest has what KubeRay needs, and the GPU node types hold what the shipped
search spaces ask for. No cloud credentials, no Ray started."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import pytest
import ray
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

from rlx.tune.placement import load_cluster, place_groups
from rlx.tune.space import load_space

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = [ROOT / "clusters" / "aws-gpu.yaml", ROOT / "clusters" / "gcp-gpu.yaml"]
KUBERAY = ROOT / "clusters" / "kuberay-rayjob.yaml"
CLUSTERS = [*LAUNCHER, KUBERAY]
SPACES = sorted((ROOT / "tune_spaces").glob("*.yaml"))


def ray_validate(cfg: dict) -> None:
    # Private API (RAY_NOTES.md): pinned Ray 2.60.x. prepare_config fills the defaults `ray up` fills.

    validate_config(prepare_config(copy.deepcopy(cfg)))


def launcher(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("path", LAUNCHER, ids=lambda p: p.name)
def test_launcher_yaml_passes_rays_cluster_config_validation(path):
    ray_validate(launcher(path))


@pytest.mark.parametrize("path", LAUNCHER, ids=lambda p: p.name)
def test_validation_would_catch_a_typo_and_a_fractional_resource(path):
    cfg = launcher(path)
    cfg["available_node_types"][cfg["head_node_type"]]["node_confg"] = {}
    with pytest.raises(jsonschema.ValidationError):
        ray_validate(cfg)
    cfg = launcher(path)
    gpu_type = next(k for k, v in cfg["available_node_types"].items() if v["resources"].get("GPU"))
    cfg["available_node_types"][gpu_type]["resources"]["GPU"] = 0.5
    with pytest.raises(jsonschema.ValidationError):
        ray_validate(cfg)


@pytest.mark.parametrize("path", LAUNCHER, ids=lambda p: p.name)
def test_node_types_scale_to_zero_with_a_cpu_zero_head_and_one_and_eight_gpu_types(path):
    cfg = launcher(path)
    types = cfg["available_node_types"]
    head = types[cfg["head_node_type"]]
    assert head["resources"] == {"CPU": 0, "train_driver": 4}
    workers = {k: v for k, v in types.items() if k != cfg["head_node_type"]}
    for name, spec in workers.items():
        assert spec["min_workers"] == 0 and spec["max_workers"] >= 1, name
        assert all(isinstance(v, int) for v in spec["resources"].values()), name  # integers (RAY_NOTES.md)
    gpus = sorted(v["resources"].get("GPU", 0) for v in workers.values())
    assert gpus == [0, 1, 8]  # a CPU type for decoding, a 1-GPU and an 8-GPU type
    assert sum(v["max_workers"] for v in workers.values()) <= cfg["max_workers"]


@pytest.mark.parametrize("path", LAUNCHER, ids=lambda p: p.name)
def test_project_installed_from_the_synced_folder_with_its_pins(path):
    cfg = launcher(path)
    assert cfg["file_mounts"]["~/rlx"] == "."
    assert any("pip install" in c and "-e ~/rlx" in c for c in cfg["setup_commands"])
    assert any("--python 3.11" in c for c in cfg["setup_commands"])  # pyproject: requires-python >= 3.11
    env = next(c for c in cfg["setup_commands"] if "rlx-env" in c)
    bucket = "s3://" if "aws" in path.name else "gs://"
    assert f"export RLX_STORAGE={bucket}" in env and "RAY_AUTH_MODE=token" in env


@pytest.mark.parametrize("path", LAUNCHER, ids=lambda p: p.name)
def test_dashboard_and_mlflow_not_open_to_the_world(path):
    cfg = launcher(path)
    values = yaml.safe_dump(cfg)  # the values, not the comments (which explain the 0.0.0.0/0 trap)
    assert "0.0.0.0" not in values  # no world-open CIDR, no dashboard/MLflow bound to every interface
    start = " ".join(cfg["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in start and "RAY_AUTH_MODE=token" in start
    assert "mlflow server" in start and '--host "$(hostname -I' in start  # private address only
    for name, spec in cfg["available_node_types"].items():
        node = spec["node_config"]
        if cfg["provider"]["type"] == "aws":
            # Without SecurityGroupIds the launcher creates a group with SSH from 0.0.0.0/0.
            assert node["SecurityGroupIds"] and node["SubnetIds"], name
        else:
            assert node["networkInterfaces"][0]["subnetwork"].endswith("/rlx-subnet"), name  # not `default`
            assert "rlx-ray" in node["tags"]["items"], name


@pytest.mark.parametrize("path", CLUSTERS, ids=lambda p: p.name)
@pytest.mark.parametrize("space_path", SPACES, ids=lambda p: p.stem)
def test_every_shipped_space_fits_the_cluster_on_the_right_node_type(path, space_path):
    cluster = load_cluster(path)
    space = load_space(space_path, check_data=False, cluster=cluster.largest_node())
    placed = place_groups(space, cluster)
    r = space.resources
    for group in space.groups():
        node = placed[group.key].node_type
        cfg = space.sample_config(group)
        assert placed[group.key].nodes_per_trial == 1, (group.key, node.name)
        if r.gpus_per_worker == 0:
            assert node.resources.get("GPU", 0) == 0, node.name  # CPU trials never hold a GPU node
            continue
        assert node.resources["GPU"] == (1 if r.workers_per_trial == 1 else 8), node.name
        # CPUs left beside the trials' workers for their decode tasks (RAY_NOTES.md: workers starve Ray Data);
        # every worker decodes its own shard with data.loader_tasks tasks.
        workers = placed[group.key].trials_per_node * r.workers_per_trial
        spare = node.resources["CPU"] - workers * r.cpus_per_worker
        assert spare >= workers * cfg.data.loader_tasks * cfg.data.loader_cpus, (node.name, spare)


def kuberay_docs() -> list[dict]:
    return list(yaml.safe_load_all(KUBERAY.read_text()))


def test_kuberay_rayjob_has_the_fields_kuberay_requires():
    docs = kuberay_docs()
    job = next(d for d in docs if d["kind"] == "RayJob")
    assert job["apiVersion"] == "ray.io/v1" and job["metadata"]["name"]
    spec = job["spec"]
    entry = spec["entrypoint"].split()
    assert entry[:4] == ["python", "-m", "rlx.tune", "--space"] and (ROOT / entry[4]).is_file()
    runtime_env = yaml.safe_load(spec["runtimeEnvYAML"])
    assert runtime_env["env_vars"]["RLX_STORAGE"].startswith("s3://")
    assert runtime_env["env_vars"]["MLFLOW_TRACKING_URI"] == "http://rlx-mlflow:5000"
    assert spec["shutdownAfterJobFinishes"] is True
    cluster = spec["rayClusterSpec"]

    assert ray.__version__.startswith(cluster["rayVersion"].rsplit(".", 1)[0])  # same Ray as pyproject's pin
    assert cluster["authOptions"] == {"mode": "token"} and cluster["enableInTreeAutoscaling"] is True
    head = cluster["headGroupSpec"]
    assert head["rayStartParams"]["num-cpus"] == "0" and head["template"]["spec"]["containers"][0]["image"]
    groups = {g["groupName"]: g for g in cluster["workerGroupSpecs"]}
    for name, group in groups.items():
        assert group["minReplicas"] == 0 and group["maxReplicas"] >= 1 and "rayStartParams" in group, name
        assert group["template"]["spec"]["containers"][0]["image"], name
    gpus = sorted(
        g["template"]["spec"]["containers"][0]["resources"]["limits"].get("nvidia.com/gpu", 0) for g in groups.values()
    )
    assert gpus == [0, 1, 8]


def test_kuberay_mlflow_stays_inside_the_cluster():
    docs = {d["kind"]: d for d in kuberay_docs()}
    assert docs["Service"]["spec"]["type"] == "ClusterIP"
    assert not any(d["kind"] == "Ingress" for d in kuberay_docs())
    policy = docs["NetworkPolicy"]["spec"]
    assert policy["podSelector"]["matchLabels"] == docs["Service"]["spec"]["selector"]
