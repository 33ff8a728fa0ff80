"""Start a run from a finished run's network (`model.init_from`), as the paper starts its temporal stream.

The paper (seed paper §5.2) initialises the temporal (flow) stream from the
trained spatial (RGB) stream: the whole network, not only an ImageNet
backbone. `init_whole_network` copies every tensor whose key and shape match
(trunk, both branches, R-LSTM, head), adapts the first convolution when the
input channels differ by TSN's cross-modality averaging (RGB filters averaged
over their 3 channels and replicated to the 2·L flow channels, PAPER.md §4),
and leaves the classifier new when the class count differs. Anything else
that does not fit is an error under `model.init_strict` (the default), so a
wrong source run is never half-loaded silently; the `InitAccount` says what
was loaded, adapted and left new, and the run prints and logs it.

The source is a checkpoint on disk (`state.pt`, an `epoch_NNNN` folder, or a
run folder whose newest epoch is used); an MLflow run id is resolved to one
by the launcher (`rlx.train.init_source`), before any worker starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from rlx.config import ModelConfig
from rlx.models.backbones import read_state_dict
from rlx.train.checkpoint import STATE_FILE, unwrap
from rlx.train.interfaces import Tracker
from rlx.train.progress import write_line

CLASSIFIER_PREFIX = "fc."  # TwoBranchNet / TSNNet classifier: new when the class count differs


class InitFromError(ValueError):
    """`model.init_from` names no checkpoint, or one that does not fit the model; the message says which keys."""


@dataclass
class InitAccount:
    """What `init_whole_network` did with each tensor of the model."""

    source: str
    loaded: list[str] = field(default_factory=list)
    adapted: list[str] = field(default_factory=list)  # first conv: RGB -> flow cross-modality average
    new: list[str] = field(default_factory=list)  # kept their fresh initialisation
    unused: list[str] = field(default_factory=list)  # in the source, not in the model

    def summary(self) -> str:
        parts = [f"loaded {len(self.loaded)} tensors"]
        if self.adapted:
            parts.append(f"adapted {len(self.adapted)} by cross-modality averaging ({', '.join(self.adapted)})")
        if self.new:
            parts.append(f"left {len(self.new)} new ({', '.join(self.new[:6])}{', …' if len(self.new) > 6 else ''})")
        if self.unused:
            parts.append(f"{len(self.unused)} source tensors unused")
        return f"init_from {self.source}: " + "; ".join(parts)

    def table(self) -> str:
        """One line per tensor: `<what> <key>` (the artifact `init_from.txt`)."""
        rows = [f"# {self.summary()}"]
        for what, keys in (("loaded", self.loaded), ("adapted", self.adapted), ("new", self.new)):
            rows += [f"{what}\t{key}" for key in keys]
        rows += [f"unused\t{key}" for key in self.unused]
        return "\n".join(rows) + "\n"


def checkpoint_file(source: str | Path) -> Path:
    """The `state.pt` that `source` names: the file itself, an epoch folder, or a run folder's newest epoch."""
    path = Path(source).expanduser()
    if path.is_file():
        return path
    if (path / STATE_FILE).is_file():
        return path / STATE_FILE
    epochs = sorted(p for p in path.glob("epoch_*") if (p / STATE_FILE).is_file()) if path.is_dir() else []
    if epochs:
        return epochs[-1] / STATE_FILE
    raise InitFromError(
        f"model.init_from: no checkpoint at {path} (expected a {STATE_FILE}, an epoch_NNNN folder or a run folder "
        "with epoch_NNNN/ inside, or an MLflow run id)"
    )


def init_whole_network(model: nn.Module, source: str | Path, *, strict: bool = True) -> InitAccount:
    """Initialise `model` (before DDP wrapping or after) from the checkpoint at `source`; see the module doc."""
    path = checkpoint_file(source)
    state = read_state_dict(path)  # weights_only; a training state's "model" entry; DDP's `module.` stripped
    target = unwrap(model).state_dict()
    account = InitAccount(str(path))
    updates: dict[str, torch.Tensor] = {}
    misfits: list[str] = []
    # The classifier is one unit: another class count or feature width (local -> two_branch) keeps it all new.
    head_fits = all(
        key in state and state[key].shape == tensor.shape
        for key, tensor in target.items()
        if key.startswith(CLASSIFIER_PREFIX)
    )
    for key, tensor in target.items():
        src = state.get(key)
        if src is None or (key.startswith(CLASSIFIER_PREFIX) and not head_fits):
            account.new.append(key)
        elif src.shape == tensor.shape:
            updates[key] = src
            account.loaded.append(key)
        elif _is_stem_for_other_channels(src, tensor):
            # (out, 3, k, k) -> mean over RGB -> (out, 1, k, k) -> replicated to the model's input channels
            updates[key] = src.mean(dim=1, keepdim=True).expand_as(tensor).clone()
            account.adapted.append(key)
        else:
            misfits.append(f"{key}: source {tuple(src.shape)} vs model {tuple(tensor.shape)}")
    account.unused = sorted(set(state) - set(target))
    missing = [k for k in account.new if k not in state]  # a head of another shape is not missing
    problems = []
    if misfits:
        problems.append(f"{len(misfits)} shape mismatches: " + "; ".join(misfits[:8]))
    if missing:
        problems.append(f"{len(missing)} model tensors absent from the source: " + ", ".join(missing[:8]))
    if account.unused:
        problems.append(f"{len(account.unused)} source tensors the model lacks: " + ", ".join(account.unused[:8]))
    if strict and problems:
        raise InitFromError(
            f"model.init_from {path} does not fit this model: "
            + " | ".join(problems)
            + " (set model.init_strict=false to load what fits and keep the rest new)"
        )
    account.new += [m.partition(":")[0] for m in misfits]
    unwrap(model).load_state_dict({**target, **updates}, strict=True)
    return account


def _is_stem_for_other_channels(src: torch.Tensor, dst: torch.Tensor) -> bool:
    """A conv weight that differs only in its input channels, from an RGB source: the first convolution."""
    return (
        src.dim() == 4
        and src.shape[1] == 3
        and src.shape[0] == dst.shape[0]
        and src.shape[2:] == dst.shape[2:]
        and dst.shape[1] != 3
    )


def init_and_record(
    model: nn.Module, cfg: ModelConfig, folder: Path, tracker: Tracker | None, rank: int
) -> InitAccount:
    """`init_whole_network` from `cfg.init_from` on every rank; rank 0 prints the account and logs it."""
    account = init_whole_network(model, cfg.init_from, strict=cfg.init_strict)
    if rank == 0:
        write_line(account.summary())
    if rank == 0 and tracker is not None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "init_from.txt").write_text(account.table())
        tracker.log_artifact(folder / "init_from.txt")
        tracker.set_tags({"rlx.init_from": account.source})
    return account
