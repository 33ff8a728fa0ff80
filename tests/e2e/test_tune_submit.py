"""`ray job submit` for real: a local Ray head on 127.0.0.1, the smoke search submitted as a job.

The flow is the README's (`ray start --head`, `ray job submit --working-dir .
-- python -m rlx.tune --space tune_spaces/smoke.yaml`), shrunk by `--set`.

Auth: token mode with a fresh 0600 token file, set explicitly on the head and
on the client. `RAY_AUTH_MODE=disabled` would also be acceptable here
(everything binds 127.0.0.1), but token mode is what the README recommends
for clusters, so the test exercises that path (and checks a token-less client
is refused). Setting the mode and the token file explicitly also means an
ambient `~/.ray/auth_token` left by a local `ray.init()` changes nothing
(RAY_NOTES.md).

Isolation: other agents may run their own Ray on this machine, so the head
uses its own temp dir and ports, and teardown never calls `ray stop` (which
stops every Ray on the machine): it ends the `ray start --block` process
group and then any process still carrying this head's marker environment
variable — i.e. only what this test started.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from rlx.tracking import find_run
from rlx.tune.space import load_space

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent  # the venv's bin: `ray` and the entrypoint's `python`
DASHBOARD = 8280
ADDRESS = f"http://127.0.0.1:{DASHBOARD}"
# Every port Ray would otherwise pick by default, so a second Ray on the machine (another agent: 6390+/8290+)
# cannot collide with this one.
HEAD_PORTS = [
    "--port=6380",
    f"--dashboard-port={DASHBOARD}",
    "--ray-client-server-port=6382",
    "--node-manager-port=6383",
    "--object-manager-port=6384",
    "--dashboard-agent-listen-port=6385",
    "--dashboard-agent-grpc-port=6386",
    "--runtime-env-agent-port=6387",
    "--metrics-export-port=6388",
    "--min-worker-port=20000",
    "--max-worker-port=20999",
]
SHRINK = [
    "data.synthetic_videos_per_class=4",
    "data.synthetic_frames=16",
    "data.synthetic_size=64",
    "data.input_size=64",
    "data.short_side=64",
    "data.num_segments=4",
    "optim.epochs=1",
    "optim.milestones=[]",
    "optim.batch_size=4",
    "data.loader_cpus=0.25",
]
MARKER = "RLX_TEST_RAY_HEAD"  # env var inherited by every process of this head: what teardown may kill


def _processes_with_marker(value: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes()
        except OSError:  # gone, or not ours
            continue
        if f"{MARKER}={value}".encode() in environ.split(b"\0"):
            pids.append(int(proc.name))
    return pids


def _stop_head(proc: subprocess.Popen, marker: str) -> None:
    """End this head only: SIGTERM its `ray start --block` group, then SIGKILL whatever still carries the marker."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # --block: ray start tears its processes down on SIGTERM
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    deadline = time.time() + 15
    while _processes_with_marker(marker) and time.time() < deadline:
        time.sleep(1)
    for pid in _processes_with_marker(marker):  # e.g. a job's entrypoint in its own session
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _wait_ready(proc: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    request = f"{ADDRESS}/api/gcs_healthz"  # public even in token mode
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"ray start exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    pytest.fail(f"the Ray head was not ready within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def ray_head():
    """A Ray head on 127.0.0.1 with token auth; yields the client environment."""
    # Short path: Ray's unix sockets live under the temp dir and must stay under ~107 characters.
    root = Path(tempfile.mkdtemp(prefix="rlx-submit-", dir="/tmp"))
    token = secrets.token_hex(32)
    token_file = root / "auth_token"
    token_file.touch(mode=0o600)
    token_file.write_text(token)
    marker = root.name
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "MLFLOW_TRACKING_URI", "RAY_AUTH_TOKEN")}
    env.update(
        {
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",  # the job's `python` is the head's PATH python
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN_PATH": str(token_file),
            MARKER: marker,
        }
    )
    log = root / "ray-start.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                str(VENV_BIN / "ray"),
                "start",
                "--head",
                "--block",
                "--node-ip-address=127.0.0.1",
                "--num-cpus=2",
                "--dashboard-host=127.0.0.1",
                "--disable-usage-stats",
                f"--temp-dir={root / 'ray'}",
                *HEAD_PORTS,
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=root,
        )
    try:
        _wait_ready(proc, log)
        yield {"env": env, "root": root, "log": log}
    finally:
        _stop_head(proc, marker)
        shutil.rmtree(root, ignore_errors=True)
    assert not _processes_with_marker(marker), "processes of the test's Ray head survived teardown"


def _ray(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_BIN / "ray"), *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_gitignored_results_keep_the_working_dir_upload_small():
    """`--working-dir .` uploads what git does not ignore (cap 100 MiB): local results must be ignored."""
    for generated in ("mlruns.db", "mlartifacts/x", "runs/x", ".cache/x", "data/x"):
        check = subprocess.run(["git", "check-ignore", "-q", generated], cwd=REPO)
        assert check.returncode == 0, (
            f"{generated} is not ignored by .gitignore: it would be uploaded by ray job submit"
        )
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    size = sum((REPO / f).stat().st_size for f in files if f and (REPO / f).is_file())
    assert size < 20 * 2**20, f"the working dir upload would be {size / 2**20:.1f} MiB"


def test_submitted_smoke_search_succeeds_with_mlflow_runs_and_results(ray_head, tmp_path):
    env, root = ray_head["env"], ray_head["root"]
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    storage = tmp_path / "runs"
    runtime_env = {
        "env_vars": {
            "MLFLOW_TRACKING_URI": uri,
            "RLX_STORAGE": str(storage),
            "RLX_CACHE": str(tmp_path / "cache"),
            "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.5",
        }
    }
    job_id = f"rlx-submit-test-{root.name}"
    cmd = [
        str(VENV_BIN / "ray"),
        "job",
        "submit",
        "--address",
        ADDRESS,
        "--submission-id",
        job_id,
        "--working-dir",
        str(REPO),
        "--runtime-env-json",
        json.dumps(runtime_env),
        "--",
        "python",
        "-m",
        "rlx.tune",
        "--space",
        "tune_spaces/smoke.yaml",
    ]
    for item in SHRINK:
        cmd += ["--set", item]
    start = time.perf_counter()
    submitted = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=540)
    wall = time.perf_counter() - start
    logs = submitted.stdout[-4000:] + submitted.stderr[-2000:]
    assert submitted.returncode == 0, logs
    print(f"ray job submit: {wall:.0f} s")

    assert "search smoke finished" in submitted.stdout, logs  # the job's logs are streamed back
    status = _ray(env, "job", "status", job_id, "--address", ADDRESS, "--log-style=record", "--log-color=false")
    assert status.returncode == 0 and f"Job '{job_id}' succeeded" in status.stdout, status.stdout + status.stderr
    listed = _ray(env, "job", "list", "--address", ADDRESS)  # the only job on this head
    assert job_id in listed.stdout and "SUCCEEDED" in listed.stdout, listed.stdout
    # Token mode is really on: a client that sends no token is refused.
    anonymous = {k: v for k, v in env.items() if k != "RAY_AUTH_TOKEN_PATH"} | {"RAY_AUTH_MODE": "disabled"}
    refused = _ray(anonymous, "job", "list", "--address", ADDRESS)
    assert refused.returncode != 0 and job_id not in refused.stdout

    archs = sorted(load_space(REPO / "tune_spaces" / "smoke.yaml", check_data=False).search["model.arch"].values)
    parent = find_run("smoke", "search-smoke", uri)
    assert parent is not None, "no MLflow search run"
    client = parent.client
    assert client.get_run(parent.run_id).info.status == "FINISHED"
    children = client.search_runs(
        [parent.experiment_id],
        filter_string=f"tags.`mlflow.parentRunId` = '{parent.run_id}' and tags.`rlx.kind` = 'trial'",
    )
    assert sorted(r.data.params["model.arch"] for r in children) == archs
    assert all(r.info.status == "FINISHED" and 0.0 <= r.data.metrics["test/top1"] <= 1.0 for r in children)

    # Results under the storage path: the Tuner's experiment state and one run folder per trial.
    assert list(storage.glob("smoke-*/tuner.pkl")), sorted(p.name for p in storage.iterdir())
    trial_dirs = [p.parent for p in storage.glob("smoke-*-*/progress.log")]
    assert len(trial_dirs) == len(archs)
    assert all(list(d.glob("epoch_0001")) for d in trial_dirs)
