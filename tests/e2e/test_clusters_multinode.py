"""A real two-node Ray cluster on this machine: a head and a second raylet started with
`ray start --address`. A 2-worker training trial puts its workers on different nodes, and a
trial whose second node is killed mid-epoch fails over to the head and finishes from its last
checkpoint.

Not loopback-only, although everything stays on this machine: `ray start` turns
`--node-ip-address=127.0.0.1` into the machine's address (ray/scripts/scripts.py,
`resolve_ip_for_localhost`) and the GCS and raylets listen on all interfaces; only the
dashboard is bound to 127.0.0.1. Auth is set explicitly to `disabled` (RAY_NOTES.md): the
cluster lives about a minute on a CI machine with no inbound network. (Token mode with a 0600
file was tried: the first test passed, the failover test hung once in epoch 1 — not understood.)

Each node has its own --temp-dir and is started in its own process group, so teardown
kills exactly the processes this file started — never `ray stop`, which would stop every
Ray on the machine. Ports (GCS 6390, dashboard 8290, worker ports 26400-26599) are this
test's own. Run it under `flock /tmp/rlx-ray.lock` like every Ray test.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import ray
from ray._private.authentication_test_utils import reset_auth_token_state
from ray.util.state import list_actors

from rlx.config import RunConfig
from rlx.tracking import find_run
from rlx.train.context import RunContext
from rlx.train.driver import run_training
from rlx.train.prepare import prepare_dataset

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]  # a hang fails the test instead of blocking CI

RAY = str(Path(sys.executable).with_name("ray"))
GCS_PORT = 6390
DASHBOARD_PORT = 8290
# Every port a node opens, distinct per node and from the other agents' Ray clusters (defaults, 6380/8280).
NODE_PORTS = {
    "head": {
        "node-manager-port": 6391,
        "object-manager-port": 6392,
        "ray-client-server-port": 6393,
        "dashboard-agent-listen-port": 6394,
        "dashboard-agent-grpc-port": 6395,
        "metrics-export-port": 6396,
        "runtime-env-agent-port": 6397,
        "min-worker-port": 26400,
        "max-worker-port": 26499,
    },
    "node_b": {
        "node-manager-port": 6401,
        "object-manager-port": 6402,
        "dashboard-agent-listen-port": 6404,
        "dashboard-agent-grpc-port": 6405,
        "metrics-export-port": 6406,
        "runtime-env-agent-port": 6407,
        "min-worker-port": 26500,
        "max-worker-port": 26599,
    },
}
ENV = {
    "RAY_AUTH_MODE": "disabled",  # explicit (RAY_NOTES.md), see the module docstring
    "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.5",  # reports are polled; keep the test short
    # The GCS declares a silent node dead after period × threshold (default 3 s × 5).
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
    "RAY_USAGE_STATS_ENABLED": "0",
}

TINY = {
    "data.dataset": "synthetic",
    "data.synthetic_videos_per_class": 4,
    "data.synthetic_frames": 16,
    "data.synthetic_size": 64,
    "data.input_size": 64,
    "data.short_side": 64,
    "data.num_segments": 4,
    "data.val_fraction": 0.34,
    "data.loader_tasks": 1,
    "data.loader_cpus": 0.25,
    "model.arch": "two_branch",
    "model.backbone": "resnetv2_small",
    "model.bn_mode": "batch",
    "optim.lr": 0.01,
    "optim.batch_size": 4,
    "eval.num_groups": 2,
    "eval.num_crops": 1,
    "train.num_workers": 2,
    "train.cpus_per_worker": 0.5,
}


@dataclass
class Node:
    name: str
    temp_dir: Path
    pgid: int

    def processes(self) -> list[int]:
        """Pids of this node's Ray processes: its process group, plus anything naming its temp dir (workers)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if os.getpgid(int(entry.name)) == self.pgid or str(self.temp_dir) in cmdline:
                    found.append(int(entry.name))
            except (OSError, ProcessLookupError):
                continue  # exited meanwhile
        return found

    def kill(self) -> int:
        """SIGKILL every process of the node (what a lost machine looks like to the rest of the cluster)."""
        pids = self.processes()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while self.processes() and time.monotonic() < deadline:
            time.sleep(0.2)
        return len(pids)


def start_node(name: str, root: Path, head: bool, resources: str) -> Node:
    temp_dir = root / name
    temp_dir.mkdir(parents=True)
    ports = [f"--{k}={v}" for k, v in NODE_PORTS[name].items()]
    role = (
        ["--head", f"--port={GCS_PORT}", f"--dashboard-port={DASHBOARD_PORT}", "--dashboard-host=127.0.0.1"]
        if head
        else [f"--address=127.0.0.1:{GCS_PORT}"]
    )
    cmd = [
        RAY,
        "start",
        *role,
        "--num-cpus=2",
        "--num-gpus=0",
        f"--resources={resources}",
        f"--temp-dir={temp_dir}",
        "--disable-usage-stats",
        *ports,
    ]
    env = dict(os.environ)
    # A new session: the node's daemons inherit this process group, so teardown can find them all.
    proc = subprocess.Popen(
        cmd, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    node = Node(name, temp_dir, proc.pid)
    try:
        out, _ = proc.communicate(timeout=180)
    except BaseException:
        proc.kill()
        node.kill()
        raise
    if proc.returncode != 0:
        node.kill()
        raise RuntimeError(f"ray start ({name}) failed:\n{out[-3000:]}")
    return node


@pytest.fixture(scope="module")
def cluster():
    """Head (node_a) + a second raylet (node_b) on this machine; this test process is the driver."""

    root = Path(tempfile.mkdtemp(prefix="rlx-mn-", dir="/tmp"))  # short: Ray's socket paths must fit 107 chars
    saved = {k: os.environ.get(k) for k in ENV}
    os.environ.update(ENV)  # the nodes (start_node copies os.environ) and this driver
    # Ray caches its auth mode per process (RayConfig): reload it, as Ray's own tests do.

    reset_auth_token_state()
    nodes: dict[str, Node] = {}
    try:
        nodes["head"] = start_node("head", root, head=True, resources='{"node_a": 1}')
        nodes["node_b"] = start_node("node_b", root, head=False, resources='{"node_b": 1}')
        ray.init(address=f"127.0.0.1:{GCS_PORT}", configure_logging=False)
        deadline = time.monotonic() + 60
        while len([n for n in ray.nodes() if n["Alive"]]) < 2:
            assert time.monotonic() < deadline, f"second node never joined: {ray.nodes()}"
            time.sleep(0.5)
        print("nodes:", [(n["NodeManagerAddress"], n["Resources"]) for n in ray.nodes()])
        yield nodes
    finally:
        ray.shutdown()
        for node in reversed(list(nodes.values())):
            node.kill()
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
        reset_auth_token_state()  # later tests in this process see the auth mode they had before
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


def node_ids() -> dict[str, str]:
    """{"node_a" | "node_b": Ray node id}, from each node's custom resource."""

    out = {}
    for n in ray.nodes():
        for label in ("node_a", "node_b"):
            if label in n["Resources"]:
                out[label] = n["NodeID"]
    return out


def train_workers() -> list:
    """Every Ray Train worker actor of the cluster, dead ones included (State API), so nothing in
    the training code has to record where it ran."""

    return list_actors(
        filters=[("class_name", "=", "RayTrainWorker")], detail=True, limit=1000, raise_on_missing_output=False
    )


def worker_groups(before: set[str]) -> list[list[str]]:
    """Node ids of the worker actors started since `before` (actor ids), one sorted list per worker
    group (placement group = one attempt of the run), sorted."""
    groups: dict[str, list[str]] = {}
    for actor in train_workers():
        if actor.actor_id not in before:
            groups.setdefault(actor.placement_group_id, []).append(actor.node_id)
    return sorted(sorted(g) for g in groups.values())


def train(tmp_path: Path, cache: Path, name: str, **overrides):
    cfg = RunConfig.from_flat({**TINY, "data.cache_dir": str(cache), **overrides})
    ctx = RunContext(
        name=name,
        storage=str(tmp_path / "runs"),
        tracking_uri=f"sqlite:///{tmp_path / 'mlruns.db'}",
        experiment="multinode",
        dataset_dir=str(prepare_dataset(cfg.data)),
    )
    return ctx, run_training(cfg, ctx)


def progress(ctx: RunContext) -> list[str]:
    return (Path(ctx.storage) / ctx.name / "progress.log").read_text().splitlines()


def test_two_workers_of_one_trial_run_on_two_nodes(cluster, cache, tmp_path):
    ids = node_ids()
    assert set(ids) == {"node_a", "node_b"} and ids["node_a"] != ids["node_b"]
    before = {a.actor_id for a in train_workers()}
    ctx, result = train(
        tmp_path,
        cache,
        "spread",
        **{"optim.epochs": 1, "optim.milestones": [], "train.placement_strategy": "STRICT_SPREAD"},
    )
    assert result.error is None
    assert progress(ctx) == ["epoch 1 started"]
    assert worker_groups(before) == [sorted([ids["node_a"], ids["node_b"]])]


def test_losing_a_node_mid_trial_fails_over_and_resumes_from_the_last_checkpoint(cluster, cache, tmp_path):
    ids = node_ids()
    run_dir = tmp_path / "runs" / "failover"
    killed: dict[str, object] = {}

    def kill_node_b_in_epoch_2() -> None:
        # Epoch 1's checkpoint is written before rank 0 notes "epoch 2 started"; the controller
        # registers it at its next poll (0.5 s), so 1.5 s later the kill lands after that checkpoint and,
        # with 20 videos per class (~2 s of training + validation per epoch here; 10 per class gave ~1 s since the
        # epochs' data starts early, and the kill landed in epoch 3), before epoch 2 ends.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            log = run_dir / "progress.log"
            if log.is_file() and "epoch 2 started" in log.read_text():
                time.sleep(1.5)
                killed["checkpoints"] = sorted(p.name for p in run_dir.glob("epoch_*"))
                killed["processes"] = cluster["node_b"].kill()
                killed["progress"] = log.read_text().splitlines()
                return
            time.sleep(0.2)

    before = {a.actor_id for a in train_workers()}
    killer = threading.Thread(target=kill_node_b_in_epoch_2, daemon=True)
    killer.start()
    ctx, result = train(
        tmp_path,
        cache,
        "failover",
        **{
            "optim.epochs": 3,
            "optim.milestones": [2],
            "data.synthetic_videos_per_class": 20,
            "train.placement_strategy": "SPREAD",
            "train.max_failures": 2,
        },
    )
    killer.join(timeout=5)
    print(f"node_b killed: {killed}")  # shown with -s: when the kill landed
    assert killed, "node_b was never killed: the run did not reach epoch 2"
    assert killed["processes"] > 0
    assert killed["checkpoints"] == ["epoch_0001"], f"kill landed outside epoch 2 ({killed}); make epochs longer"
    assert result.error is None
    # Epoch 1 is not redone; epoch 2 (in flight when the node died) is redone from epoch 1's checkpoint. The lost
    # node can reach Train's controller as one failure or as two (the dead worker's health check, then its peer's
    # broken gloo connection in a later poll): epoch 2 then starts once more, still from epoch 1's checkpoint.
    runs = progress(ctx)
    assert runs[:3] == ["epoch 1 started", "epoch 2 started", "epoch 2 started"] and runs[-1] == "epoch 3 started"
    assert set(runs[1:-1]) == {"epoch 2 started"} and len(runs) <= 5
    assert sorted(p.name for p in run_dir.glob("epoch_*"))[-1] == "epoch_0003"
    # SPREAD put the first attempt on both nodes; the run finished with both workers on the surviving head.
    groups = worker_groups(before)
    assert sorted([ids["node_a"], ids["node_b"]]) in groups and [ids["node_a"], ids["node_a"]] in groups

    tracker = find_run("multinode", "failover", tracking_uri=ctx.tracking_uri)
    assert [s for s, _ in tracker.metric_history("train/loss")] == [1, 2, 3]
