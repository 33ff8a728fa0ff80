"""`train.sync_bn` in fit: several GPU workers get SyncBatchNorm for their batch-statistics layers."""

import logging

import torch
from torch import nn

from rlx.config import ModelConfig, TrainConfig
from rlx.models import build_model
from rlx.models.backbones import RunningStatsBatchNorm2d
from rlx.train.fit import sync_batch_norms


def kinds(model):
    return {type(m) for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)}


def test_on_by_default():
    assert TrainConfig().sync_bn is True


def test_gpu_workers_synchronise_the_new_layers_not_the_moving_backbone():
    model = build_model(ModelConfig(backbone="resnetv2_small", bn_mode="moving"), 3)
    sync_batch_norms(model, torch.device("cuda"))  # conversion only; nothing runs on the device here
    assert kinds(model.backbone) == {RunningStatsBatchNorm2d}
    assert kinds(model.relational) == {nn.SyncBatchNorm}


def test_cpu_workers_keep_their_layers_and_say_so(caplog):
    model = build_model(ModelConfig(backbone="resnetv2_small", bn_mode="batch"), 3)
    with caplog.at_level(logging.WARNING, logger="rlx.train.fit"):
        sync_batch_norms(model, torch.device("cpu"))
    assert kinds(model) == {nn.BatchNorm2d}
    assert "no SyncBatchNorm on cpu workers" in caplog.text
