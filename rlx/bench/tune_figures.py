"""The figures of `python -m rlx.bench tune`, computed from Tune reports and wall times (pure functions)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Report:
    """One Tune report of one trial (one trial-epoch)."""

    trial: str
    epoch: int
    value: float
    time: float  # wall clock when reported: orders the reports of concurrent trials


def final_values(reports: Iterable[Report]) -> dict[str, float]:
    """Each trial's last reported value (its result at the epoch it reached)."""
    last: dict[str, Report] = {}
    for r in reports:
        if r.trial not in last or r.epoch > last[r.trial].epoch:
            last[r.trial] = r
    return {trial: r.value for trial, r in last.items()}


def best_trial(reports: Iterable[Report], mode: str = "max") -> tuple[str, float]:
    """The trial with the best final value (Tune's `get_best_result(scope="last")`); ties: the first trial id."""
    finals = final_values(reports)
    if not finals:
        raise ValueError("no reports")
    sign = 1 if mode == "max" else -1
    trial = min(sorted(finals), key=lambda t: -sign * finals[t])
    return trial, finals[trial]


def trial_epochs_to_reach(reports: Iterable[Report], target: float, mode: str = "max") -> int | None:
    """Trial-epochs spent, over all trials in report-time order, up to and including the first report reaching
    `target`.

    None if no report reaches it. Every report is one trial-epoch, whichever trial it came from.
    """
    ordered = sorted(reports, key=lambda r: (r.time, r.trial, r.epoch))
    for count, r in enumerate(ordered, start=1):
        if (r.value >= target) if mode == "max" else (r.value <= target):
            return count
    return None


def overhead_figures(bare_s: list[float], rlx_s: list[float]) -> dict[str, float]:
    """Seconds per trial of each side (mean of the Tuner walls ÷ trials) and the ratio rlx / bare."""
    if not bare_s or not rlx_s:
        raise ValueError("need at least one trial per side")
    bare = sum(bare_s) / len(bare_s)
    rlx = sum(rlx_s) / len(rlx_s)
    return {"bare_s_per_trial": bare, "rlx_s_per_trial": rlx, "ratio": rlx / bare}


def compare_asha_to_grid(
    grid: list[Report], grid_cfg: dict, asha: list[Report], asha_cfg: dict, tolerance: float
) -> dict[str, Any]:
    """The figures of tune.asha_vs_grid_trial_epochs_to_best from both runs' reports."""
    grid_trial, grid_best = best_trial(grid)
    asha_trial, asha_best = best_trial(asha)
    reached = trial_epochs_to_reach(asha, grid_best - tolerance)

    def key(cfg: dict) -> tuple:
        return tuple(sorted(cfg.items()))

    curves = {(key(grid_cfg[r.trial]), r.epoch): r.value for r in grid}
    return {
        "grid_best_val_acc": grid_best,
        "grid_best_config": grid_cfg[grid_trial],
        "asha_best_val_acc": asha_best,
        "asha_best_config": asha_cfg[asha_trial],
        "same_best_config": key(grid_cfg[grid_trial]) == key(asha_cfg[asha_trial]),
        "grid_trial_epochs": len(grid),
        "asha_trial_epochs": len(asha),
        "asha_trial_epochs_to_reach": reached,
        "grid_trial_epochs_to_reach": trial_epochs_to_reach(grid, grid_best - tolerance),
        # The trainable is deterministic: an ASHA trial's curve is a prefix of the same config's grid curve.
        "asha_curves_match_grid": all(abs(curves[(key(asha_cfg[r.trial]), r.epoch)] - r.value) < 1e-9 for r in asha),
    }
