"""`model.init_from`: a whole trained network as the start of another run (seed paper §5.2)."""

from __future__ import annotations

import pytest
import torch
from test_train_fit import FLAT, ListTracker, MemorySource  # the in-memory run of fit's tests

from rlx.config import ModelConfig, RunConfig
from rlx.models import build_model
from rlx.tracking import open_run
from rlx.train.checkpoint import FolderStore, load_state, save_state
from rlx.train.fit import fit
from rlx.train.init_from import InitFromError, checkpoint_file, init_whole_network
from rlx.train.init_source import resolve_init_from

SMALL = {"backbone": "resnetv2_small", "bn_mode": "batch", "dropout": 0.5}


def small(arch: str = "two_branch") -> ModelConfig:
    return ModelConfig(arch=arch, **SMALL)


def saved(tmp_path, model, epoch: int = 3):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [1])
    return save_state(tmp_path / "src" / f"epoch_{epoch:04d}", model, opt, sched, epoch)


def test_rgb_to_flow_loads_everything_averages_the_first_conv_and_keeps_a_new_head(tmp_path):
    torch.manual_seed(0)
    rgb = build_model(small(), num_classes=5, in_channels=3)
    saved(tmp_path, rgb)
    torch.manual_seed(1)
    flow = build_model(small(), num_classes=7, in_channels=10)  # 5 flow fields x (x, y); another class count

    account = init_whole_network(flow, tmp_path / "src")  # a run folder: its newest epoch

    src, dst = rgb.state_dict(), flow.state_dict()
    assert account.source == str(tmp_path / "src" / "epoch_0003" / "state.pt")
    assert len(account.adapted) == 1 and sorted(account.new) == ["fc.bias", "fc.weight"] and not account.unused
    stem = account.adapted[0]
    expected = src[stem].mean(dim=1, keepdim=True).expand(-1, 10, -1, -1)  # (out, 3, k, k) -> (out, 10, k, k)
    assert torch.equal(dst[stem], expected)
    assert len(account.loaded) == len(dst) - 3
    assert all(torch.equal(dst[k], src[k]) for k in account.loaded)
    assert any(".rlstm." in k for k in account.loaded) and any(
        k.startswith("local") or "backbone" in k for k in account.loaded
    )
    assert "adapted 1 by cross-modality averaging" in account.summary() and "left 2 new (fc.weight, fc.bias)" in (
        account.summary()
    )


def test_strict_refuses_a_source_without_the_relational_branch_and_lenient_keeps_it_new(tmp_path):
    saved(tmp_path, build_model(small("local"), num_classes=5))
    model = build_model(small("two_branch"), num_classes=5)
    with pytest.raises(InitFromError, match=r"model tensors absent from the source: .*rlstm.*model.init_strict=false"):
        init_whole_network(model, tmp_path / "src" / "epoch_0003")
    account = init_whole_network(model, tmp_path / "src" / "epoch_0003", strict=False)
    assert any(".rlstm." in k for k in account.new) and {"fc.weight", "fc.bias"} <= set(account.new)  # width C vs 2C
    assert any(k.startswith("backbone.") for k in account.loaded)


def test_no_checkpoint_is_an_error_naming_the_path(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InitFromError, match=f"no checkpoint at {tmp_path / 'empty'}"):
        checkpoint_file(tmp_path / "empty")


def test_an_mlflow_run_id_resolves_to_its_checkpoint(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    folder = saved(tmp_path, build_model(small("local"), num_classes=5))
    run = open_run("exp", "spatial", tracking_uri=uri)
    run.set_tags({"rlx.checkpoint": str(folder)})
    cfg = RunConfig(model=ModelConfig(init_from=run.run_id))
    assert resolve_init_from(cfg, uri).model.init_from == str(folder)
    assert resolve_init_from(RunConfig(model=ModelConfig(init_from=f"runs:/{run.run_id}")), uri).model.init_from == (
        str(folder)
    )
    unfinished = open_run("exp", "unfinished", tracking_uri=uri)
    with pytest.raises(InitFromError, match=f"MLflow run {unfinished.run_id} has no rlx.checkpoint tag"):
        resolve_init_from(RunConfig(model=ModelConfig(init_from=unfinished.run_id)), uri)
    with pytest.raises(InitFromError, match="no MLflow run 0123456789abcdef0123456789abcdef"):
        resolve_init_from(RunConfig(model=ModelConfig(init_from="0123456789abcdef0123456789abcdef")), uri)


def test_a_run_started_from_another_begins_with_its_weights_and_logs_the_account(tmp_path):
    first = FolderStore(tmp_path / "first")
    fit(RunConfig.from_flat({**FLAT, "optim.epochs": 1}), MemorySource(), first, name="first")
    trained = load_state(tmp_path / "first" / "epoch_0001").model

    tracker = ListTracker()
    flat = {**FLAT, "optim.epochs": 1, "optim.lr": 1e-12, "model.init_from": str(tmp_path / "first")}
    fit(RunConfig.from_flat(flat), MemorySource(), FolderStore(tmp_path / "second"), tracker, name="second")
    after = load_state(tmp_path / "second" / "epoch_0001").model
    convs = [k for k, v in trained.items() if k.endswith("weight") and v.dim() == 4]
    assert convs and all(torch.allclose(after[k], trained[k], atol=1e-6) for k in convs)  # lr ~ 0: still the first
    assert tracker.tags["rlx.init_from"] == str(tmp_path / "first" / "epoch_0001" / "state.pt")
    assert ("init_from.txt", None) in tracker.artifacts
    lines = (tmp_path / "second" / "init_from.txt").read_text().splitlines()
    assert lines[0].startswith("# init_from ") and sum(line.startswith("loaded\t") for line in lines) == len(trained)
