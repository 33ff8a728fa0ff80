"""Training state on disk: one folder per epoch, read back with weights_only=True.

The state is model + optimizer + LR scheduler + the number of finished
epochs. Randomness needs no saved state: every epoch reseeds torch and the
data sampler from (seed, epoch, rank), so resuming at epoch e replays
exactly what an uninterrupted run would have done from e on. The data
position is the epoch boundary (checkpoints are taken between epochs).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

STATE_FILE = "state.pt"


@dataclass
class TrainState:
    epochs_done: int
    model: dict[str, Any]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    metrics: dict[str, float] | None = None  # the epoch's reported metrics (a finished run re-reports them)


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside DDP (its state-dict keys carry no `module.` prefix)."""
    return model.module if hasattr(model, "module") else model


def save_state(
    folder: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    epochs_done: int,
    metrics: dict[str, float] | None = None,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        "epochs_done": epochs_done,
        "model": unwrap(model).state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "metrics": {k: float(v) for k, v in (metrics or {}).items()},
    }
    tmp = folder / (STATE_FILE + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(folder / STATE_FILE)  # a crash mid-write never leaves a truncated state.pt
    return folder


def load_state(folder: Path) -> TrainState:
    path = Path(folder) / STATE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no {STATE_FILE} in checkpoint {folder}")
    raw = torch.load(path, map_location="cpu", weights_only=True)
    return TrainState(raw["epochs_done"], raw["model"], raw["optimizer"], raw["scheduler"], raw.get("metrics"))


def restore(state: TrainState, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any) -> None:
    unwrap(model).load_state_dict(state.model)
    optimizer.load_state_dict(state.optimizer)
    scheduler.load_state_dict(state.scheduler)


def epoch_folder_name(epoch: int) -> str:
    """`epoch_0007`: the folder of one epoch's state, the same under Ray Train and in a local run."""
    return f"epoch_{epoch:04d}"


class FolderStore:
    """A run's checkpoints in a local folder, `<storage>/<name>/epoch_NNNN/state.pt` (the layout Ray Train uses).

    The `CheckpointStore` of a run in the calling process (`python -m rlx.train --local`): saves are
    synchronous and atomic, the newest `keep` epochs are kept, and `latest` finds what a Ray Train run of the
    same name left too.
    """

    def __init__(self, folder: Path, keep: int = 2) -> None:
        self.folder = Path(folder)
        self.keep = keep

    def _epochs(self) -> list[int]:
        found = []
        for path in self.folder.glob("epoch_*"):
            suffix = path.name.removeprefix("epoch_")
            if suffix.isdigit() and (path / STATE_FILE).is_file():
                found.append(int(suffix))
        return sorted(found)

    def latest(self) -> TrainState | None:
        epochs = self._epochs()
        return load_state(self.folder / epoch_folder_name(epochs[-1])) if epochs else None

    def save(self, epoch: int, metrics: Any, write: Any) -> None:
        if write is None:
            return
        write(self.folder / epoch_folder_name(epoch))
        for old in self._epochs()[: -self.keep]:
            shutil.rmtree(self.folder / epoch_folder_name(old), ignore_errors=True)

    def report(self, metrics: Any) -> None:
        """Nothing to do: a local run's metrics go to its tracker and its return value."""

    def wait_until_saved(self) -> None:
        """Saves are synchronous."""

    def location(self, epoch: int) -> str:
        return str(self.folder / epoch_folder_name(epoch))
