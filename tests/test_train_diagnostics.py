"""AttentionMonitor: keeps the R-LSTM's training inputs of the last batches, logs their attention statistics."""

import pytest
import torch
from test_train_fit import ListTracker, MemorySource, cfg  # the fit tests' in-memory run

from rlx.config import ModelConfig
from rlx.models import build_model
from rlx.models.attention_stats import attention_statistics
from rlx.train.checkpoint import FolderStore
from rlx.train.diagnostics import AttentionMonitor
from rlx.train.fit import fit

KEYS = {"model/attn_entropy_x", "model/attn_max_x", "model/attn_entropy_h", "model/attn_max_h"}


def model(**kw):
    torch.manual_seed(0)
    cfg = ModelConfig(**{"backbone": "resnetv2_small", "bn_mode": "batch", **kw})
    return build_model(cfg, num_classes=3)


def branch(**kw):
    return model(**kw).relational  # the R-LSTM's part of the network: fast on a CPU


def clips(seed):
    """conv5 maps of 2 videos × 3 snippets: (B, T, C, 2, 2)."""
    return torch.randn(2, 3, 256, 2, 2, generator=torch.Generator().manual_seed(seed))


def test_metrics_are_the_mean_statistics_of_the_last_training_inputs():
    net = branch()
    monitor = AttentionMonitor.attach(net, batches=2)
    seen = []
    net.rlstm.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach().clone()))
    net.train()
    for seed in range(3):
        net(clips(seed)).sum().backward()  # the training computation is untouched: gradients flow as usual
    net.eval()
    with torch.no_grad():
        net(clips(9))  # an evaluation pass is not kept
    metrics = monitor.metrics()
    expected = [attention_statistics(net.rlstm, x).as_metrics() for x in seen[1:3]]
    assert set(metrics) == KEYS
    for key in KEYS:
        assert metrics[key] == pytest.approx((expected[0][key] + expected[1][key]) / 2, rel=1e-5)
    assert monitor.metrics() == {}  # the inputs are forgotten after each epoch's metrics


def test_no_monitor_without_an_rlstm_and_no_metrics_for_dot_product():
    assert AttentionMonitor.attach(model(arch="local")) is None
    net = branch(pairwise="dot_product")
    monitor = AttentionMonitor.attach(net)
    net.train()(clips(0))
    assert len(monitor.inputs) == 1 and monitor.metrics() == {}


def test_close_removes_the_hook():
    net = branch()
    monitor = AttentionMonitor.attach(net)
    monitor.close()
    net.train()(clips(0))
    assert len(monitor.inputs) == 0


def test_fit_logs_the_statistics_once_per_epoch(tmp_path):
    tracker = ListTracker()
    fit(cfg(**{"optim.epochs": 2}), MemorySource(), FolderStore(tmp_path / "run"), tracker)
    epochs = [m for _, m in tracker.metrics if "train/loss" in m]
    assert len(epochs) == 2 and all(KEYS <= m.keys() for m in epochs)
    # 32×32 clips give 1×1 conv5 maps: one position, all weight on it (entropy 0, largest weight 1)
    assert all(m[k] == pytest.approx(0.0 if "entropy" in k else 1.0) for m in epochs for k in KEYS)
