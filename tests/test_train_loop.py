"""The plain-PyTorch epoch loop: learning, losses, multi-view prediction, budgets."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close

from rlx.train.loop import (
    Normalizer,
    Predictions,
    StepOptions,
    gather_predictions,
    loss_fn,
    predict,
    reduce_views,
    subset_predictions,
    train_one_epoch,
)

CPU = StepOptions(device=torch.device("cpu"))
IDENTITY = Normalizer(mean=(0.0,), std=(1 / 255,))  # x/255 / (1/255) = x: frames pass through as floats


class MeanPool(nn.Module):
    """(B, T, C, H, W) -> (B, K): a linear map of the mean frame."""

    def __init__(self, channels=3, classes=4):
        super().__init__()
        self.fc = nn.Linear(channels, classes)

    def forward(self, x):
        return self.fc(x.mean(dim=(1, 3, 4)))


def toy_batches(n_batches=6, batch=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n_batches):
        label = torch.randint(0, 4, (batch,), generator=g)
        frames = torch.zeros(batch, 2, 3, 4, 4, dtype=torch.uint8)
        frames[:, :, 0] = (label * 60).view(-1, 1, 1, 1).to(torch.uint8)  # class visible in channel 0
        out.append({"frames": frames, "label": label, "video_id": [f"v{i}_{j}" for j in range(batch)], "skipped": 1})
    return out


def test_normalizer_repeats_mean_and_std_over_stacked_channels():
    norm = Normalizer(mean=(0.5, 0.25), std=(0.5, 0.25))
    frames = torch.full((1, 1, 4, 1, 1), 255, dtype=torch.uint8)  # 2 stacked (x, y) flow pairs
    assert_close(norm(frames).flatten(), torch.tensor([1.0, 3.0, 1.0, 3.0]))


def test_training_reduces_loss_and_counts_videos_and_skips():
    torch.manual_seed(0)
    model = MeanPool()
    opt = torch.optim.SGD(model.parameters(), lr=5.0, momentum=0.9)
    norm = Normalizer(mean=(0.0,), std=(1.0,))
    first = train_one_epoch(model, toy_batches(), opt, norm, CPU)
    for _ in range(30):
        last = train_one_epoch(model, toy_batches(), opt, norm, CPU)
    assert first.videos == 48 and first.steps == 6 and first.skipped == 6
    assert last.loss < first.loss * 0.5 and last.top1 > 0.9
    assert 0.0 <= last.data_wait_fraction < 1.0


def test_an_epoch_counts_the_decoder_messages_and_keeps_their_text():
    batches = toy_batches(n_batches=3)
    for i, batch in enumerate(batches):  # the first row carries a decode batch's messages
        batch["decoder_messages"] = np.array([i, 0, 0, 0, 0, 0, 0, 0])
        batch["decoder_log"] = np.array(["x.avi: damaged\nx.avi: damaged" if i == 2 else ""] + [""] * 7, dtype=object)
    stats = train_one_epoch(MeanPool(), batches, torch.optim.SGD(MeanPool().parameters(), lr=0.1), IDENTITY, CPU)
    assert stats.decoder_messages == 3 and stats.decoder_log == ["x.avi: damaged\nx.avi: damaged"]


def test_gradient_clipping_bounds_the_update():
    model = MeanPool()
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    train_one_epoch(model, toy_batches(1), opt, IDENTITY, StepOptions(torch.device("cpu"), grad_clip=1e-3))
    step = torch.cat([(p.detach() - b).flatten() for p, b in zip(model.parameters(), before, strict=True)])
    assert step.norm() <= 1e-3 + 1e-6


def test_multilabel_uses_bce_with_logits_not_softmax():
    logits = torch.tensor([[2.0, -1.0, 0.5]])
    labels = torch.tensor([[1.0, 0.0, 1.0]])
    p = torch.sigmoid(logits)
    expected = -(torch.log(p) * labels + torch.log(1 - p) * (1 - labels)).mean()
    assert_close(loss_fn(logits, {"labels": labels}, True, torch.device("cpu")), expected)
    assert_close(
        loss_fn(logits, {"label": torch.tensor([0])}, False, torch.device("cpu")),
        nn.functional.cross_entropy(logits, torch.tensor([0])),
    )


def multiview_batch():
    g = torch.Generator().manual_seed(1)
    frames = torch.randint(0, 255, (3, 5, 2, 3, 4, 4), generator=g, dtype=torch.uint8)  # (B, V, T, C, H, W)
    return {"frames": frames, "label": torch.tensor([0, 1, 2]), "video_id": ["c", "a", "b"]}


@pytest.mark.parametrize("reduce", ["mean", "max"])
def test_predict_reduces_views_and_is_independent_of_the_view_budget(reduce):
    torch.manual_seed(0)
    model = MeanPool()
    batch = multiview_batch()
    full = predict(model, [batch], IDENTITY, CPU, view_budget=20, reduce=reduce)
    one = predict(model, [batch], IDENTITY, CPU, view_budget=1, reduce=reduce)
    assert_close(torch.from_numpy(full.scores), torch.from_numpy(one.scores))
    per_view = model(batch["frames"].flatten(0, 1).float()).view(3, 5, 4)
    expected = per_view.mean(1) if reduce == "mean" else per_view.amax(1)
    assert_close(torch.from_numpy(full.scores), expected.detach(), rtol=1e-5, atol=1e-5)
    assert full.video_ids == ["c", "a", "b"] and full.labels.tolist() == [0, 1, 2]


def test_gather_without_distributed_sorts_and_deduplicates():
    p = Predictions(["b", "a", "b"], np.array([[1.0], [2.0], [3.0]]), np.array([1, 0, 1]), 0.5, 0)
    g = gather_predictions(p)
    assert g.video_ids == ["a", "b"] and g.scores[:, 0].tolist() == [2.0, 1.0]


def test_subset_predictions_splits_one_pass_and_recomputes_loss():
    scores = np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0], [3.0, -1.0]], np.float32)
    labels = np.array([0, 1, 1, 1])
    both = Predictions(["t1", "v1", "t2", "v2"], scores, labels, loss=9.9, skipped=1)
    test = subset_predictions(both, {"t1", "t2", "t3"}, expected=3, multilabel=False)
    assert test.video_ids == ["t1", "t2"] and test.skipped == 1  # t3 was never predicted
    np.testing.assert_array_equal(test.scores, scores[[0, 2]])
    expected = F.cross_entropy(torch.tensor(scores[[0, 2]]), torch.tensor([0, 1])).item()
    assert test.loss == pytest.approx(expected)
    val = subset_predictions(both, {"v1", "v2"}, expected=2, multilabel=False)
    assert val.video_ids == ["v1", "v2"] and val.skipped == 0 and val.labels.tolist() == [1, 1]
    assert subset_predictions(both, {"x"}, expected=4, multilabel=False).skipped == 4


def test_reduce_views_mean_over_a_clips_views_then_max_over_clips():
    logits = torch.tensor([[[1.0, 0.0], [3.0, 4.0], [5.0, -2.0], [-1.0, 2.0], [0.0, 9.0], [2.0, -9.0]]])  # (1, 6, 2)
    # 3 clips of 2 views: clip means (2, 2), (2, 0), (1, 0); max over clips (2, 2)
    assert reduce_views(logits, "max", clips=3).tolist() == [[2.0, 2.0]]
    # 2 clips of 3 views: (3, 2/3), (1/3, 2/3) -> max (3, 2/3); mean of all views whatever the clips
    assert_close(reduce_views(logits, "max", clips=2), torch.tensor([[3.0, 2 / 3]]))
    assert_close(reduce_views(logits, "mean", clips=3), torch.tensor([[10 / 6, 4 / 6]]))
    assert reduce_views(logits, "max").tolist() == [[5.0, 9.0]]  # clips None: every view its own clip
    with pytest.raises(ValueError, match="6 views per video do not split into 4 clips"):
        reduce_views(logits, "max", clips=4)
    with pytest.raises(ValueError, match="reduce must be one of"):
        reduce_views(logits, "median", clips=3)  # type: ignore[arg-type]


@pytest.mark.parametrize("view_budget", [1, 4, 5, 7, 100])  # 4, 5, 7 split clips (and videos) across passes
def test_predict_charades_clips_against_a_numpy_reference(view_budget):
    """B = 2 videos, 3 clips × (2 groups × 2 crops) = 12 views: mean over each clip's 4 views, max over clips."""
    torch.manual_seed(0)
    model = MeanPool()
    g = torch.Generator().manual_seed(3)
    frames = torch.randint(0, 255, (2, 12, 2, 3, 4, 4), generator=g, dtype=torch.uint8)  # (B, V, T, C, H, W)
    batch = {"frames": frames, "labels": torch.tensor([[1.0, 0, 0, 1], [0, 1, 0, 0]]), "video_id": ["x", "y"]}
    opts = StepOptions(device=torch.device("cpu"), multilabel=True)
    pred = predict(model, [batch], IDENTITY, opts, view_budget=view_budget, reduce="max", clips=3)
    weight, bias = model.fc.weight.detach().numpy(), model.fc.bias.detach().numpy()
    per_view = frames.numpy().astype(np.float64).mean(axis=(2, 4, 5)) @ weight.T + bias  # (B, V, K)
    expected = per_view.reshape(2, 3, 4, 4).mean(axis=2).max(axis=1)  # (B, clips, G·C, K) -> (B, K)
    np.testing.assert_allclose(pred.scores, expected, rtol=1e-5, atol=1e-5)
    assert not np.allclose(expected, per_view.max(axis=1))  # a max over all views would differ
