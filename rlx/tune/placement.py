"""Which node type of a cluster each trial of a search lands on (`rlx.tune --dry-run --cluster FILE`).

A cluster is described by the file you launch it with — a Ray cluster-launcher
YAML (`available_node_types`), a KubeRay RayJob/RayCluster manifest
(`workerGroupSpecs`) — or by a small YAML/JSON of its own:

    node_types:
      gpu-1x: {resources: {CPU: 16, GPU: 1}, max_workers: 8}
      gpu-8x: {resources: {CPU: 96, GPU: 8}, max_workers: 2}

A trial's workers are one placement group of `workers_per_trial` bundles of
{CPU: cpus_per_worker, GPU: gpus_per_worker}. The trial lands on the smallest
node type (fewest GPUs, then fewest CPUs) that holds all its bundles; with
PACK or SPREAD a trial no single node holds spans several nodes of the
smallest type that holds one bundle, STRICT_PACK never spans, STRICT_SPREAD
always does (one worker per node). This mirrors what a placement group
asks for; the autoscaler decides what it actually launches (PACK is best
effort: it may use several small nodes although one large one would fit —
use `train.placement_strategy: STRICT_PACK` to keep a trial on one node).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rlx.tune.space import InvalidKey, SearchSpace, SpaceError


class PlacementError(SpaceError):
    """A cluster description that cannot be read, or a trial no node type of it can hold.

    `file` is the cluster description (the space, when a group of it fits nowhere)."""


@dataclass(frozen=True)
class NodeType:
    name: str
    resources: Mapping[str, float]  # Ray resources one node offers: CPU, GPU, custom
    max_workers: int  # nodes of this type the autoscaler may start (the head: 1)
    instance: str = ""  # the cloud machine behind it, e.g. "g5.4xlarge" (for the plan only)

    @property
    def size(self) -> tuple[float, float, float]:
        """Order of "smallest": GPUs first (the expensive part), then CPUs, then everything else."""
        other = sum(v for k, v in self.resources.items() if k not in ("CPU", "GPU"))
        return self.resources.get("GPU", 0.0), self.resources.get("CPU", 0.0), other

    def label(self) -> str:
        """e.g. "gpu-1x (g5.4xlarge)"."""
        return f"{self.name} ({self.instance})" if self.instance else self.name


@dataclass(frozen=True)
class ClusterSpec:
    path: str
    node_types: tuple[NodeType, ...]
    head: str = ""  # name of the head node type, "" when the description has none

    def largest_node(self) -> dict[str, float]:
        """Per resource, the most any one node offers (for load_space's per-worker check)."""
        out: dict[str, float] = {}
        for node in self.node_types:
            for key, value in node.resources.items():
                out[key] = max(out.get(key, 0.0), value)
        return out


@dataclass(frozen=True)
class TrialPlacement:
    node_type: NodeType
    nodes_per_trial: int  # nodes one trial's workers occupy
    workers_per_node: int  # of the trial's workers, at most this many share a node
    trials_per_node: int  # trials one node of this type holds at once (0 when a trial spans nodes)

    @property
    def max_concurrent_trials(self) -> int:
        """Trials the cluster runs at once when the autoscaler has started every node of this type.

        What Tune's max_concurrent_trials should be on an autoscaling cluster: `ray.cluster_resources()`
        at search start is the head alone (0 GPUs), which would allow one trial at a time."""
        if self.nodes_per_trial == 1:
            return self.node_type.max_workers * self.trials_per_node
        return self.node_type.max_workers // self.nodes_per_trial

    def describe(self) -> str:
        """The plan's node-type column, e.g. "gpu1 (g5.4xlarge), 1 trial(s)/node, up to 8 at once"."""
        if self.nodes_per_trial == 1:
            return (
                f"{self.node_type.label()}, {self.trials_per_node} trial(s)/node, "
                f"up to {self.max_concurrent_trials} at once"
            )
        return f"{self.nodes_per_trial} × {self.node_type.label()}, up to {self.max_concurrent_trials} at once"


# ---------------------------------------------------------------- reading cluster descriptions
def load_cluster(path: str | Path) -> ClusterSpec:
    """Read a launcher YAML, a KubeRay manifest or a small node_types YAML/JSON; errors name the file and key."""
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise PlacementError(where, "", "cluster description not found")
    try:
        docs = [json.loads(path.read_text())] if path.suffix == ".json" else list(yaml.safe_load_all(path.read_text()))
    except (yaml.YAMLError, json.JSONDecodeError) as err:
        raise PlacementError(where, "", f"not valid YAML/JSON: {err}") from None
    # A Kubernetes file may carry other objects (MLflow's Service...) beside the RayJob/RayCluster.
    ray_docs = [d for d in docs if isinstance(d, Mapping) and d.get("kind") in ("RayJob", "RayCluster")]
    raw = ray_docs[0] if ray_docs else (docs[0] if docs else None)
    if not isinstance(raw, Mapping):
        raise PlacementError(where, "", "expected a mapping at the top level")
    try:
        if "available_node_types" in raw:
            return _from_launcher(raw, where)
        if raw.get("kind") in ("RayJob", "RayCluster"):
            return _from_kuberay(raw, where)
        if "node_types" in raw:
            return _from_simple(raw, where)
    except InvalidKey as err:
        raise PlacementError(where, err.key, err.reason) from None
    raise PlacementError(
        where,
        "",
        "not a cluster description (expected available_node_types, a KubeRay RayJob/RayCluster, or node_types)",
    )


def _resources(value: Any, key: str) -> dict[str, float]:
    if not isinstance(value, Mapping) or not value:
        raise InvalidKey(
            key,
            "give the node's resources explicitly, e.g. {CPU: 16, GPU: 1} "
            "(the launcher's auto-detection happens only at launch)",
        )
    out = {}
    for name, amount in value.items():
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount < 0:
            raise InvalidKey(f"{key}.{name}", f"expected a number >= 0, got {amount!r}")
        out[str(name)] = float(amount)
    return out


# The readers of the three formats raise InvalidKey; load_cluster adds the file.
def _from_launcher(raw: Mapping[str, Any], where: str) -> ClusterSpec:
    head = raw.get("head_node_type", "")
    nodes = []
    for name, spec in raw["available_node_types"].items():
        key = f"available_node_types.{name}"
        config = spec.get("node_config", {}) or {}
        instance = config.get("InstanceType") or config.get("machineType") or ""
        count = 1 if name == head else int(spec.get("max_workers", raw.get("max_workers", 0)))
        nodes.append(NodeType(name, _resources(spec.get("resources"), f"{key}.resources"), count, instance))
    return ClusterSpec(where, tuple(nodes), head)


_QUANTITY = re.compile(r"^([0-9.]+)(m?)$")


def _k8s_cpu(value: Any, key: str) -> float:
    """A Kubernetes CPU quantity: 8, "8", "7500m"."""
    match = _QUANTITY.match(str(value))
    if not match:
        raise InvalidKey(key, f"{value!r} is not a CPU quantity")
    return float(match.group(1)) / (1000 if match.group(2) else 1)


def _kuberay_group(spec: Mapping[str, Any], key: str) -> dict[str, float]:
    """Ray resources of one KubeRay group: rayStartParams win over the container's limits (as in KubeRay)."""
    params = spec.get("rayStartParams", {}) or {}
    containers = spec.get("template", {}).get("spec", {}).get("containers", [])
    if not containers:
        raise InvalidKey(f"{key}.template.spec.containers", "missing")
    limits = containers[0].get("resources", {}).get("limits", {}) or {}
    out: dict[str, float] = {}
    cpu = params.get("num-cpus", limits.get("cpu"))
    if cpu is not None:
        out["CPU"] = _k8s_cpu(cpu, key)
    gpu = params.get("num-gpus", limits.get("nvidia.com/gpu"))
    if gpu is not None:
        out["GPU"] = float(gpu)
    if "resources" in params:
        try:  # KubeRay's documented form is a quoted, escaped JSON string: '"{\"name\": 1}"'
            custom = json.loads(str(params["resources"]))
            custom = json.loads(custom) if isinstance(custom, str) else custom
        except json.JSONDecodeError:
            custom = None
        if not isinstance(custom, Mapping):
            raise InvalidKey(f"{key}.rayStartParams.resources", "not a JSON object")
        out.update({k: float(v) for k, v in custom.items()})
    return _resources(out, key)


def _from_kuberay(raw: Mapping[str, Any], where: str) -> ClusterSpec:
    spec = raw.get("spec", {}) or {}
    cluster = spec.get("rayClusterSpec", spec) if raw["kind"] == "RayJob" else spec
    head_spec = cluster.get("headGroupSpec")
    if not isinstance(head_spec, Mapping):
        raise InvalidKey("headGroupSpec", "missing")
    nodes = [NodeType("head", _kuberay_group(head_spec, "headGroupSpec"), 1)]
    for i, group in enumerate(cluster.get("workerGroupSpecs", []) or []):
        key = f"workerGroupSpecs[{i}]"
        nodes.append(
            NodeType(
                str(group.get("groupName", key)),
                _kuberay_group(group, key),
                int(group.get("maxReplicas", group.get("replicas", 0))),
            )
        )
    return ClusterSpec(where, tuple(nodes), "head")


def _from_simple(raw: Mapping[str, Any], where: str) -> ClusterSpec:
    types = raw["node_types"]
    if not isinstance(types, Mapping) or not types:
        raise InvalidKey("node_types", "expected a non-empty mapping of name -> {resources, max_workers}")
    nodes = []
    for name, spec in types.items():
        key = f"node_types.{name}"
        if not isinstance(spec, Mapping):
            raise InvalidKey(key, "expected a mapping with resources (and max_workers)")
        extra = sorted(set(spec) - {"resources", "max_workers", "instance"})
        if extra:
            raise InvalidKey(f"{key}.{extra[0]}", "unknown key (allowed: instance, max_workers, resources)")
        count = spec.get("max_workers", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise InvalidKey(f"{key}.max_workers", f"expected an integer >= 0, got {count!r}")
        nodes.append(
            NodeType(
                str(name), _resources(spec.get("resources"), f"{key}.resources"), count, str(spec.get("instance", ""))
            )
        )
    return ClusterSpec(where, tuple(nodes), str(raw.get("head", "")))


# ---------------------------------------------------------------- placing trials
def worker_bundle(space: SearchSpace) -> dict[str, float]:
    """What one Ray Train worker of a trial reserves (rlx.train.driver.build_trainer)."""
    r = space.resources
    bundle = {"CPU": r.cpus_per_worker}
    if r.gpus_per_worker:
        bundle["GPU"] = r.gpus_per_worker
    return bundle


def _copies(node: NodeType, bundle: Mapping[str, float]) -> int:
    """How many bundles fit on one node (bundles are whole: no worker straddles two nodes)."""
    return min(math.floor(node.resources.get(k, 0.0) / v + 1e-9) for k, v in bundle.items() if v > 0)


def place_trial(bundle: Mapping[str, float], workers: int, strategy: str, cluster: ClusterSpec) -> TrialPlacement:
    """The node type one trial lands on; PlacementError when none can hold it."""
    usable = sorted((n for n in cluster.node_types if n.max_workers > 0), key=lambda n: n.size)
    fits_one = [n for n in usable if _copies(n, bundle) >= 1]
    if not fits_one:
        largest = ", ".join(f"{n.label()} {_fmt(n.resources)}" for n in usable) or "none"
        raise PlacementError(
            cluster.path,
            "",
            f"no node type holds one worker of {_fmt(bundle)} (node types: "
            f"{largest}); add a larger node type or lower resources per worker",
        )
    if strategy != "STRICT_SPREAD":
        for node in fits_one:
            if _copies(node, bundle) >= workers:
                return TrialPlacement(node, 1, workers, _copies(node, bundle) // workers)
        if strategy == "STRICT_PACK":
            raise PlacementError(
                cluster.path,
                "",
                f"STRICT_PACK needs one node for {workers} × {_fmt(bundle)} and "
                f"the largest holds {max(_copies(n, bundle) for n in fits_one)}",
            )
    for node in fits_one:
        per_node = 1 if strategy == "STRICT_SPREAD" else _copies(node, bundle)
        nodes = math.ceil(workers / per_node)
        if nodes <= node.max_workers:
            return TrialPlacement(node, nodes, min(per_node, workers), 0)
    limits = ", ".join(f"{n.name}: {n.max_workers}" for n in fits_one)
    raise PlacementError(
        cluster.path,
        "",
        f"{workers} × {_fmt(bundle)} ({strategy}) needs more nodes than any node type's max_workers allows ({limits})",
    )


def place_groups(space: SearchSpace, cluster: ClusterSpec) -> dict[str, TrialPlacement]:
    """{group key: where each of its trials lands}; raises PlacementError naming the space and the cluster."""
    out = {}
    for group in space.groups():
        strategy = space.sample_config(group).train.placement_strategy
        try:
            out[group.key] = place_trial(worker_bundle(space), space.resources.workers_per_trial, strategy, cluster)
        except PlacementError as err:
            raise PlacementError(space.path, f"resources (group {group.key or 'all'})", str(err)) from None
    return out


def _fmt(resources: Mapping[str, float]) -> str:
    return "{" + ", ".join(f"{k} {v:g}" for k, v in resources.items()) + "}"
