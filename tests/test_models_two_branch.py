"""The video networks of two_branch.py, wired by hand from small parts: gradients, widths, order, T = 1."""

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from rlx.models.backbones import resnetv2_small
from rlx.models.relational_lstm import RelationalLSTM
from rlx.models.two_branch import RelationalBranch, TSNNet, TwoBranchNet

C = 256  # resnetv2_small's conv5 width
K = 5  # classes


def relational_branch(blocks: int = 1) -> RelationalBranch:
    """The branch after conv5_{3 - blocks}: `blocks` new conv5 blocks, a head norm only when there is one."""
    new_blocks = nn.Sequential(*[resnetv2_small().make_block(nn.BatchNorm2d) for _ in range(blocks)])
    head_norm = nn.Sequential(nn.BatchNorm2d(C), nn.ReLU()) if blocks else nn.Identity()
    rlstm, expand = RelationalLSTM(C, C // 2), nn.Conv2d(C // 2, C, 1)
    return RelationalBranch(nn.BatchNorm2d(C), rlstm, expand, new_blocks, head_norm)


def two_branch(local: bool = True, relational: bool = True, insert_after: int = 2) -> TwoBranchNet:
    torch.manual_seed(0)
    width = C * (int(local) + int(relational))
    branch = relational_branch() if relational else None
    return TwoBranchNet(resnetv2_small(), insert_after, local, branch, nn.Linear(width, K), dropout=0.5)


def video(batch: int = 2, steps: int = 4) -> torch.Tensor:
    return torch.randn(batch, steps, 3, 48, 48, generator=torch.Generator().manual_seed(1))  # conv5 maps are 2×2


@pytest.mark.parametrize("local,relational", [(True, True), (True, False), (False, True)])
def test_every_parameter_gets_a_gradient_and_the_output_is_num_classes_wide(local, relational):
    model = two_branch(local, relational)
    logits = model(video())
    assert logits.shape == (2, K) and torch.isfinite(logits).all()
    logits.logsumexp(dim=1).sum().backward()
    if not local:
        unused = ("stages.3.blocks.2.", "norm.")  # after the insertion point only the local branch runs conv5
        named = [(n, p) for n, p in model.named_parameters() if not n.removeprefix("backbone.").startswith(unused)]
    else:
        named = list(model.named_parameters())
    assert [n for n, p in named if p.grad is None or not torch.isfinite(p.grad).all()] == []


def test_tsn_every_parameter_gets_a_gradient():
    torch.manual_seed(0)
    model = TSNNet(resnetv2_small(), nn.Linear(C, K), dropout=0.5)
    logits = model(video())
    assert logits.shape == (2, K)
    logits.sum().backward()
    assert [n for n, p in model.named_parameters() if p.grad is None] == []


def test_the_local_branch_is_order_invariant_the_full_model_is_not():
    model = two_branch().eval()
    x, reversed_x = video(), video().flip(1)
    with torch.no_grad():
        assert (model(x) - model(reversed_x)).abs().max() > 1e-4  # the R-LSTM reads the snippets in order
        model.fc.weight[:, C:] = 0  # the classifier now sees only the local half of the concatenation
        assert_close(model(x), model(reversed_x), rtol=1e-5, atol=1e-5)


def test_the_video_vector_concatenates_local_then_relational():
    model = two_branch().eval()
    x = video()
    with torch.no_grad():
        feats = model.backbone.forward_trunk(x.flatten(0, 1), 2)  # (B·T, C, 2, 2)
        local = model.backbone.forward_rest(feats, 2).mean(dim=(2, 3)).view(2, 4, C).mean(dim=1)  # (B, C)
        relational = model.relational(feats.view(2, 4, C, 2, 2))  # (B, C)
        assert_close(model(x), model.fc(torch.cat([local, relational], dim=1)))


@pytest.mark.parametrize("local,relational", [(True, True), (True, False), (False, True)])
def test_a_single_snippet_video(local, relational):
    model = two_branch(local, relational).eval()
    with torch.no_grad():
        assert model(video(batch=3, steps=1)).shape == (3, K)


def test_tsn_on_one_snippet_is_the_snippet_classifier():
    torch.manual_seed(0)
    model = TSNNet(resnetv2_small(), nn.Linear(C, K), dropout=0.5).eval()
    x = video(batch=3, steps=1)
    with torch.no_grad():
        assert_close(model(x), model.fc(model.backbone(x[:, 0]).mean(dim=(2, 3))))


@pytest.mark.parametrize("blocks", [0, 1, 2])
def test_relational_branch_reads_the_last_hidden_state(blocks):
    torch.manual_seed(0)
    branch = relational_branch(blocks).eval()
    feats = torch.randn(2, 3, C, 2, 2)
    with torch.no_grad():
        normed = branch.norm(feats.flatten(0, 1)).view(2, 3, C, 2, 2)
        _, (h_last, _) = branch.rlstm(normed)
        x = branch.expand(h_last)
        for block in branch.blocks:
            x = block(x)
        expected = (x if blocks == 0 else branch.head_norm(x)).mean(dim=(2, 3))
        assert_close(branch(feats), expected)
        assert not torch.allclose(branch(feats), branch(feats[:, :2]))  # the third snippet counts


def test_a_net_without_branches_is_refused():
    with pytest.raises(ValueError, match="TwoBranchNet needs at least one branch"):
        TwoBranchNet(resnetv2_small(), 3, False, None, nn.Linear(C, K), 0.5)
