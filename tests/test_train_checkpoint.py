"""Training state on disk: round trip, atomic writes, pickle refused, and the local FolderStore."""

from __future__ import annotations

import pickle

import pytest
import torch
from torch import nn

from rlx.train.checkpoint import STATE_FILE, FolderStore, epoch_folder_name, load_state, restore, save_state


def parts():
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[1], gamma=0.1)
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    scheduler.step()
    return model, optimizer, scheduler


def test_state_round_trips_model_optimizer_scheduler_and_metrics(tmp_path):
    model, optimizer, scheduler = parts()
    save_state(tmp_path / "e", model, optimizer, scheduler, 4, {"val/top1": 0.5})
    state = load_state(tmp_path / "e")
    assert state.epochs_done == 4 and state.metrics == {"val/top1": 0.5}
    fresh = nn.Linear(3, 2)
    fresh_opt = torch.optim.SGD(fresh.parameters(), lr=0.1, momentum=0.9)
    fresh_sched = torch.optim.lr_scheduler.MultiStepLR(fresh_opt, milestones=[1], gamma=0.1)
    restore(state, fresh, fresh_opt, fresh_sched)
    assert torch.equal(fresh.weight, model.weight)
    assert fresh_sched.get_last_lr() == pytest.approx([0.01])
    assert torch.equal(
        fresh_opt.state_dict()["state"][0]["momentum_buffer"], optimizer.state_dict()["state"][0]["momentum_buffer"]
    )
    assert not list((tmp_path / "e").glob("*.tmp"))  # written to a temporary name, then renamed


def test_ddp_wrapped_models_save_plain_keys(tmp_path):
    model, optimizer, scheduler = parts()

    class Wrapper(nn.Module):  # what DDP looks like from outside: the model under .module
        def __init__(self, module):
            super().__init__()
            self.module = module

    save_state(tmp_path, Wrapper(model), optimizer, scheduler, 1)
    assert set(load_state(tmp_path).model) == {"weight", "bias"}


def test_missing_state_and_pickled_payloads_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"no {STATE_FILE} in checkpoint"):
        load_state(tmp_path)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with (tmp_path / STATE_FILE).open("wb") as fh:
        pickle.dump({"epochs_done": 1, "x": Evil()}, fh)
    with pytest.raises(pickle.UnpicklingError):
        load_state(tmp_path)


def test_folder_store_keeps_the_newest_epochs_and_finds_the_latest(tmp_path):
    model, optimizer, scheduler = parts()
    store = FolderStore(tmp_path / "run", keep=2)
    assert store.latest() is None
    for epoch in (1, 2, 3):
        store.save(epoch, {"epoch": epoch}, lambda folder, e=epoch: save_state(folder, model, optimizer, scheduler, e))
    store.save(4, {"epoch": 4}, None)  # another rank's call: nothing written
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["epoch_0002", "epoch_0003"]
    assert store.latest().epochs_done == 3
    assert store.location(3) == str(tmp_path / "run" / "epoch_0003") and epoch_folder_name(12) == "epoch_0012"
    (tmp_path / "run" / "epoch_0009").mkdir()  # a folder without state.pt (a crash mid-save) is not a checkpoint
    assert store.latest().epochs_done == 3
