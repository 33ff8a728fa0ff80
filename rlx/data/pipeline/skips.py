"""Skip accounting: the exact record of every video dropped for a DecodeError, in-process or in a Ray actor.

The per-row `skipped` column of the batches (see `rlx.data.pipeline`) is the
cheap count; `SkipLog` is the exact one, with each video id and reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SkipLog:
    """Every video dropped for a DecodeError: (video_id, reason). Plain object or a Ray actor (`skip_log_actor`)."""

    entries: list[tuple[str, str]] = field(default_factory=list)

    def add(self, failures: list[tuple[str, str]]) -> int:
        self.entries.extend(failures)
        return len(self.entries)

    def total(self) -> int:
        return len(self.entries)

    def get_entries(self) -> list[tuple[str, str]]:
        return list(self.entries)


def skip_log_actor(name: str | None = None) -> Any:
    """A `SkipLog` living in a Ray actor (0 CPUs), so decode tasks in any process can record to it.

    Read it with `ray.get(actor.total.remote())` / `actor.get_entries.remote()`.
    """
    import ray  # noqa: PLC0415  (~0.8 s: keeps the in-process pipeline (iter_local) Ray-free)

    options: dict[str, Any] = {"num_cpus": 0}
    if name:
        options["name"] = name
    return ray.remote(SkipLog).options(**options).remote()


def record_skips(skip_log: Any, failures: list[tuple[str, str]]) -> None:
    """Add `failures` to a `SkipLog`, a `skip_log_actor` handle (waits for it), or nothing (None)."""
    if skip_log is None or not failures:
        return
    if hasattr(skip_log, "add") and hasattr(skip_log.add, "remote"):
        import ray  # noqa: PLC0415  (an actor handle means Ray is loaded; importing at the top costs ~0.8 s)

        ray.get(skip_log.add.remote(failures))  # recorded before this batch's rows are visible
    else:
        skip_log.add(failures)
