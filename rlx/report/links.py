"""Run ids as links to their pages in the MLflow UI, when a tracking server's URL is known.

A local store (`sqlite:///…`, a folder) has no pages to link to: without a
server URL the report shows plain short run ids, exactly as before.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RunLinks:
    """Where a run's page is: `<server>/#/experiments/<experiment_id>/runs/<run_id>`."""

    server: str  # http(s)://host:port of the MLflow server (UI and API)
    experiment_id: str

    def url(self, run_id: str) -> str:
        return f"{self.server.rstrip('/')}/#/experiments/{self.experiment_id}/runs/{run_id}"

    def markdown(self, full: str, shown: str) -> str:
        """`shown` (short ids, space-separated) with each id a Markdown link to its full id's page."""
        return _link_each(full, shown, lambda run_id, text: f"[{text}]({self.url(run_id)})")

    def html(self, full: str, shown: str) -> str:
        """`shown` as escaped HTML, each id an <a> to its full id's page."""
        return _link_each(
            full, shown, lambda run_id, text: f'<a href="{html.escape(self.url(run_id))}">{html.escape(text)}</a>'
        )


def _link_each(full: str, shown: str, link: Callable[[str, str], str]) -> str:
    ids, texts = str(full).split(), shown.split()
    if shown == "–" or len(ids) != len(texts):  # a missing value ("–") or an unexpected cell: leave it as it is
        return shown
    return " ".join(link(run_id, text) for run_id, text in zip(ids, texts, strict=True))


def server_url(tracking_uri: str, explicit: str | None = None) -> str | None:
    """The MLflow server to link to: `explicit` (--mlflow-url), else an http(s) tracking URI, else None."""
    if explicit:
        return explicit.rstrip("/")
    if tracking_uri.startswith(("http://", "https://")):
        return tracking_uri.rstrip("/")
    return None
