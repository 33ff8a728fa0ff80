"""The report inside MLflow, in a real browser: `python -m rlx.report --log` against a local `mlflow server`.

A server on 127.0.0.1 (free port, temporary SQLite store and artifact root,
`--serve-artifacts`) receives a small experiment (a search run, two trials
with test scores); `python -m rlx.report --experiment small --log` puts the
report under the search run's `report/`. The server sends artifacts as
downloads (`Content-Disposition: attachment`), so a browser does not open
`get-artifact?...` as a page; the MLflow UI fetches the file and shows it in
an iframe from a Blob URL. The page here does the same, from a second local
origin the server's default CORS rule admits (localhost, any port), and
copies the report's own render marks (`data-images`, `data-tables`, see
rlx.report.html) out of the iframe, where headless Chromium's `--dump-dom`
shows them. Skipped where no Chromium is installed.
"""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from browser import BROWSER, FLAGS, NO_BROWSER
from test_report_build import RLSTM_SCORES, TSN_SCORES, _trial

from rlx.tracking import experiment_id, open_run

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(BROWSER is None, reason=NO_BROWSER),
]
# What the MLflow UI does with an HTML artifact (fetch, Blob URL, sandboxed iframe), plus allow-same-origin so
# that this page can read the report's marks once its load handler has run.
HARNESS = """<!DOCTYPE html><html><body><script>
fetch(%(url)s).then(function (r) {
  document.body.setAttribute('data-status', r.status + ' ' + r.headers.get('content-type'));
  return r.text();
}).then(function (text) {
  var f = document.createElement('iframe');
  f.setAttribute('sandbox', 'allow-scripts allow-same-origin');
  f.style.width = '1280px'; f.style.height = '1600px';
  f.onload = function () { setTimeout(function () {
    var d = f.contentDocument;
    document.body.setAttribute('data-images', d.body.getAttribute('data-images'));
    document.body.setAttribute('data-tables', d.body.getAttribute('data-tables'));
    document.body.setAttribute('data-links', String(d.querySelectorAll('a[href*="#/experiments/"]').length));
    document.body.setAttribute('data-done', 'yes');
  }, 500); };
  f.src = URL.createObjectURL(new Blob([text], {type: 'text/html'}));
  document.body.appendChild(f);
}).catch(function (e) { document.body.setAttribute('data-error', String(e)); });
</script></body></html>
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`mlflow server` on 127.0.0.1; stopped (its own process group only) at the end."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    log = (root / "server.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--serve-artifacts",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its workers in one group that teardown stops
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail(f"mlflow server did not start: {(root / 'server.log').read_text()[-3000:]}")
            time.sleep(1)
        yield url, root
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:  # uvicorn waits for open keep-alive connections (this process's MLflow clients): not for long
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def logged(server):
    """Experiment "small" on the server, reported with `python -m rlx.report --log` (a real process)."""
    url, root = server
    search = open_run("small", "search-small", tracking_uri=url, tags={"rlx.kind": "search"})
    t = dict(uri=url, tmp=root / "scores", parent=search.run_id, experiment="small")
    ids = {
        "search": search.run_id,
        "tsn": _trial(key="tsn", arch="tsn", test=0.80, scores=TSN_SCORES, **t),
        "tb": _trial(key="tb", test=0.90, scores=RLSTM_SCORES, **t),
    }
    out = root / "out"
    env = {**os.environ, "MLFLOW_TRACKING_URI": url}
    done = subprocess.run(
        [sys.executable, "-m", "rlx.report", "--experiment", "small", "--out", str(out), "--log"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"logged to MLflow run {search.run_id} (experiment small), artifacts report/" in done.stdout
    return url, out, ids


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read()


def test_the_logged_page_is_the_report_and_links_to_the_runs(logged):
    url, out, ids = logged
    served = get(f"{url}/get-artifact?path=report/index.html&run_uuid={ids['search']}")
    assert served == (out / "index.html").read_bytes()
    readme = get(f"{url}/get-artifact?path=report/README.md&run_uuid={ids['search']}").decode()
    page = f"{url}/#/experiments/{experiment_id('small', url)}/runs/"
    assert f"[{ids['tb'][:8]}]({page}{ids['tb']})" in readme
    # The linked id is a run of that server.
    run = json.loads(get(f"{url}/ajax-api/2.0/mlflow/runs/get?run_id={ids['tb']}"))
    assert run["run"]["info"]["experiment_id"] == experiment_id("small", url)


def test_chromium_renders_every_table_and_image_through_the_server(logged, tmp_path):
    url, out, ids = logged
    artifact = f"{url}/get-artifact?path=report/index.html&run_uuid={ids['search']}"
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "harness.html").write_text(HARNESS % {"url": json.dumps(artifact)})
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path / "www"))
    origin = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=origin.serve_forever, daemon=True)
    thread.start()
    try:
        done = subprocess.run(
            [
                BROWSER,
                *FLAGS,
                f"--user-data-dir={tmp_path / 'profile'}",
                "--virtual-time-budget=15000",
                "--dump-dom",
                f"http://127.0.0.1:{origin.server_address[1]}/harness.html",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        origin.shutdown()
        origin.server_close()
    assert done.returncode == 0, done.stderr[-2000:]
    body = re.search(r"<body[^>]*>", done.stdout).group(0)
    assert 'data-done="yes"' in body, body
    html = (out / "index.html").read_text()
    n_images, n_tables, n_links = html.count("<img "), html.count("<table>"), html.count('<a href="')
    assert n_images >= 3 and n_tables >= 3 and n_links >= 2
    assert 'data-status="200 text/html"' in body
    assert f'data-images="{n_images} images, 0 broken"' in body
    assert f'data-tables="{n_tables} tables, 0 not rendered"' in body
    assert f'data-links="{n_links}"' in body
