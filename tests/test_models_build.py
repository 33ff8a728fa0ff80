"""build_model: every arch × insertion × stream wires up, trains, and has the paper's symmetries.

The allowed values of every model choice are the `Literal` aliases of
rlx.config; the tests below fail when a builder and the config disagree
about them, in either direction.
"""

import ast
import inspect
import textwrap
import typing
from typing import get_args

import pytest
import torch
from torch.testing import assert_close

from rlx.config import Arch, Backbone, BNMode, ConfigError, InsertAfter, ModelConfig, Pairwise
from rlx.models import build, build_model, nonlocal_op
from rlx.models.backbones import RunningStatsBatchNorm2d, create_backbone, make_norm_layer
from rlx.models.two_branch import TSNNet, TwoBranchNet

ARCHS = get_args(Arch)
INSERTS = get_args(InsertAfter)
# Every ModelConfig field whose values are a closed set, with its alias.
CHOICES = {"arch": Arch, "backbone": Backbone, "insert_after": InsertAfter, "pairwise": Pairwise, "bn_mode": BNMode}


def small(**kw):
    return ModelConfig(**{"backbone": "resnetv2_small", "bn_mode": "batch", "dropout": 0.5, **kw})


CASES = [(a, i, 3) for a in ("two_branch", "nonlocal") for i in INSERTS] + [(a, "conv5_2", 3) for a in ("local", "tsn")]
CASES += [(a, "conv5_2", 20) for a in ARCHS]  # the temporal stream: 2·L = 20 input channels


@pytest.mark.parametrize("arch,insert_after,in_channels", CASES)
def test_shapes_and_every_parameter_gets_a_gradient(arch, insert_after, in_channels):
    torch.manual_seed(0)
    model = build_model(small(arch=arch, insert_after=insert_after), num_classes=7, in_channels=in_channels)
    logits = model(torch.randn(2, 3, in_channels, 48, 48))  # conv5 maps are 2×2
    assert logits.shape == (2, 7) and torch.isfinite(logits).all()
    logits.logsumexp(dim=1).sum().backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert no_grad == []


def test_insertion_point_sets_the_shared_trunk():
    for insert_after, blocks in zip(INSERTS, (1, 2, 3), strict=True):
        model = build_model(small(arch="two_branch", insert_after=insert_after), 5)
        assert model.insert_after == blocks and len(model.backbone.conv5) == 3
        nonlocal_only = build_model(small(arch="nonlocal", insert_after=insert_after), 5)
        assert len(nonlocal_only.backbone.conv5) == blocks  # the unused rest is not even built


def test_local_arch_is_invariant_to_the_order_of_snippets():
    torch.manual_seed(0)
    model = build_model(small(arch="local"), 5).eval()
    x = torch.randn(2, 6, 3, 64, 64)
    with torch.no_grad():
        assert_close(model(x), model(x[:, torch.randperm(6)]), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("arch", ["two_branch", "nonlocal"])
def test_relational_archs_are_sensitive_to_the_order_of_snippets(arch):
    torch.manual_seed(0)
    model = build_model(small(arch=arch), 5).eval()
    x = torch.randn(2, 6, 3, 64, 64)
    with torch.no_grad():
        assert (model(x) - model(x.flip(1))).abs().max() > 1e-4


def test_tsn_averages_scores_of_single_snippets():
    torch.manual_seed(0)
    model = build_model(small(arch="tsn"), 5).eval()
    assert isinstance(model, TSNNet)
    x = torch.randn(1, 4, 3, 64, 64)
    with torch.no_grad():
        per_snippet = torch.stack([model(x[:, t : t + 1]) for t in range(4)])
        assert_close(model(x), per_snippet.mean(dim=0), rtol=1e-5, atol=1e-5)


def test_two_branch_concatenates_both_video_vectors():
    model = build_model(small(arch="two_branch"), 5)
    assert isinstance(model, TwoBranchNet)
    assert model.fc.in_features == 2 * model.backbone.num_features
    assert model.relational.rlstm.hidden_channels == model.backbone.num_features // 2


def test_state_dict_round_trip_restores_outputs_exactly():
    torch.manual_seed(0)
    a = build_model(small(arch="two_branch"), 5).eval()
    torch.manual_seed(1)
    b = build_model(small(arch="two_branch"), 5).eval()
    x = torch.randn(1, 3, 3, 64, 64)
    with torch.no_grad():
        assert not torch.equal(a(x), b(x))
        b.load_state_dict(a.state_dict())
        assert torch.equal(a(x), b(x))


def batch_norms(module: torch.nn.Module) -> list[torch.nn.BatchNorm2d]:
    return [m for m in module.modules() if isinstance(m, torch.nn.BatchNorm2d)]


def test_moving_bn_mode_reaches_the_backbone_only_the_new_layers_use_batch_statistics():
    cfg = ModelConfig(backbone="resnetv2_small", bn_mode="moving", bn_momentum=0.01, batch_bn_momentum=0.05)
    model = build_model(cfg, 5)
    backbone_bns = batch_norms(model.backbone)
    assert backbone_bns and all(isinstance(m, RunningStatsBatchNorm2d) and m.momentum == 0.01 for m in backbone_bns)
    new_bns = batch_norms(model.relational)
    assert len(new_bns) == 4  # before the R-LSTM, the new conv5_3's two (basic block), the head norm
    assert all(type(m) is torch.nn.BatchNorm2d and m.momentum == 0.05 for m in new_bns)


def test_batch_bn_mode_uses_the_batch_momentum_everywhere():
    model = build_model(ModelConfig(backbone="resnetv2_small", bn_mode="batch", batch_bn_momentum=0.2), 5)
    assert {(type(m), m.momentum) for m in batch_norms(model)} == {(torch.nn.BatchNorm2d, 0.2)}


def test_bn_momentum_keys_refuse_what_would_train_silently_wrong():
    with pytest.raises(ConfigError, match=r"model.batch_bn_momentum: 0.001 must be in \[0.01, 1\]"):
        ModelConfig(batch_bn_momentum=0.001)
    with pytest.raises(ConfigError, match="model.bn_momentum: 0.05 is not read in bn_mode 'batch'"):
        ModelConfig(bn_mode="batch", bn_momentum=0.05)
    # The default (0.001, untouched) and a value equal to the batch momentum (configs/smoke.yaml) are accepted.
    assert ModelConfig(bn_mode="batch").bn_momentum == 0.001
    assert ModelConfig(bn_mode="batch", bn_momentum=0.1).batch_bn_momentum == 0.1


# ---------------------------------------------------------------- insertion variants (seed paper §4, §5.4)
@pytest.mark.parametrize("insert_after,new_blocks", [("conv5_1", 2), ("conv5_2", 1), ("conv5_3", 0)])
def test_after_conv5_k_the_branch_has_new_copies_of_the_blocks_that_follow_k(insert_after, new_blocks):
    torch.manual_seed(0)
    model = build_model(small(arch="two_branch", insert_after=insert_after), 5)
    branch, conv5 = model.relational, model.backbone.conv5
    assert len(branch.blocks) == new_blocks
    for block, pretrained in zip(branch.blocks, list(conv5)[3 - new_blocks :], strict=True):
        # the same architecture as the block it copies (C→C, stride 1, no projection), not its weights
        assert type(block) is type(pretrained) and block.downsample is None and pretrained.downsample is None
        shapes = [(n, p.shape) for n, p in block.named_parameters()]
        assert shapes == [(n, p.shape) for n, p in pretrained.named_parameters()]
        assert not {id(p) for p in block.parameters()} & {id(p) for p in model.backbone.parameters()}
        for conv in (m for m in block.modules() if isinstance(m, torch.nn.Conv2d)):  # Xavier, not He
            fan_in, fan_out = conv.weight[0].numel(), conv.weight.shape[0] * conv.weight[0, 0].numel()
            assert conv.weight.abs().max() <= (6 / (fan_in + fan_out)) ** 0.5
    # a head norm finishes the last new block; "right before spatial average pooling" there is none
    assert isinstance(branch.head_norm, torch.nn.Identity) == (new_blocks == 0)


def test_variants_differ_in_parameters_by_exactly_one_conv5_block():
    def relational_params(insert_after):
        model = build_model(small(arch="nonlocal", insert_after=insert_after), 5)
        return sum(p.numel() for p in model.relational.parameters())

    block = sum(p.numel() for p in create_backbone("resnetv2_small").conv5[2].parameters())
    head_norm = 2 * 256  # BN weight and bias of the 256-channel head norm
    p1, p2, p3 = (relational_params(i) for i in INSERTS)
    assert p1 - p2 == block and p2 - p3 == block + head_norm


def test_paper_size_variants_use_bottleneck_copies():
    with torch.device("meta"):
        models = {i: build_model(ModelConfig(insert_after=i), num_classes=101) for i in INSERTS}
    for insert_after, model in models.items():
        blocks = model.relational.blocks
        assert [type(b).__name__ for b in blocks] == ["PreActBottleneck"] * (3 - INSERTS.index(insert_after) - 1)
        assert all(b.conv1.in_channels == 2048 and b.conv3.out_channels == 2048 for b in blocks)


def test_paper_configuration_builds_at_full_size():
    # ResNet-101-v2 two-branch, R-LSTM after conv5_2, flow stream (20 channels).
    model = build_model(ModelConfig(), num_classes=101, in_channels=20).eval()
    assert model.backbone.num_features == 2048
    assert model.relational.rlstm.cell.state_ops.g.in_features == 1024
    with torch.no_grad():
        assert model(torch.randn(1, 2, 20, 64, 64)).shape == (1, 101)


def test_pretrained_path_is_loaded_then_adapted_for_flow(tmp_path):
    rgb = create_backbone("resnetv2_small")
    torch.save(rgb.state_dict(), tmp_path / "w.pth")
    model = build_model(small(arch="local", pretrained=str(tmp_path / "w.pth")), 5, in_channels=20)
    assert_close(model.backbone.stem.conv.weight[:, 5], rgb.stem.conv.weight.mean(dim=1))
    assert_close(model.backbone.stages[3].blocks[2].conv2.weight, rgb.stages[3].blocks[2].conv2.weight)


def test_bad_values_fail_with_the_key():
    with pytest.raises(ValueError, match="model.arch: unknown arch 'tsm'"):
        build_model(ModelConfig(arch="tsm"), 5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="num_classes must be >= 1, got 0"):
        build_model(small(), 0)


# ---------------------------------------------------------------- one source of truth: rlx.config's aliases
def test_choices_cover_every_closed_set_field_of_model_config():
    hints = typing.get_type_hints(ModelConfig)
    closed = {name for name, hint in hints.items() if typing.get_origin(hint) is typing.Literal}
    assert closed == set(CHOICES) and all(hints[name] is alias for name, alias in CHOICES.items())


@pytest.mark.parametrize(
    "field,value", [(f, v) for f, alias in CHOICES.items() if f != "backbone" for v in get_args(alias)]
)
def test_every_value_the_config_names_builds(field, value):
    model = build_model(small(**{field: value}), num_classes=7)
    assert model(torch.randn(1, 2, 3, 48, 48)).shape == (1, 7)


@pytest.mark.parametrize("backbone", get_args(Backbone))
def test_every_backbone_the_config_names_builds(backbone):
    # Full size on the meta device, nothing allocated; test_models_backbones_create runs their forward.
    with torch.device("meta"):
        model = build_model(small(backbone=backbone), num_classes=7)
    assert model.fc.in_features == 2 * model.backbone.num_features


REJECTED = {
    "arch": "model.arch: unknown arch 'x' ({})",
    "backbone": "unknown backbone 'x' ({})",
    "insert_after": "model.insert_after: 'x' is not one of {}",
    "pairwise": "unknown pairwise function 'x' ({})",
    "bn_mode": "unknown bn_mode 'x' ({})",
}


@pytest.mark.parametrize("field", CHOICES)
def test_a_value_the_config_does_not_name_is_rejected_listing_the_config_values(field):
    with pytest.raises(ValueError) as err:
        build_model(small(**{field: "x"}), num_classes=7)
    assert str(err.value) == REJECTED[field].format(", ".join(get_args(CHOICES[field])))


def compared_strings(source: str, name: str) -> set[str]:
    """String constants that `name` (a variable or attribute) is compared with (==, !=, in, not in) in `source`."""
    found = set()
    for node in ast.walk(ast.parse(textwrap.dedent(source))):
        if not isinstance(node, ast.Compare):
            continue
        left = node.left
        if (isinstance(left, ast.Name) and left.id == name) or (isinstance(left, ast.Attribute) and left.attr == name):
            for right in node.comparators:
                items = right.elts if isinstance(right, (ast.Tuple, ast.List, ast.Set)) else [right]
                found |= {i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)}
    return found


@pytest.mark.parametrize(
    "builder,argument,alias",
    [
        (build.arch_branches, "arch", Arch),
        (build.trunk_blocks, "insert_after", InsertAfter),
        (create_backbone, "name", Backbone),
        (make_norm_layer, "mode", BNMode),
    ],
)
def test_dispatch_compares_with_exactly_the_config_values(builder, argument, alias):
    # A branch for a value the config does not name (or a missing one) fails here, before any run.
    assert compared_strings(inspect.getsource(builder), argument) == set(get_args(alias))


def test_non_local_op_compares_with_config_pairwise_values_only():
    assert compared_strings(inspect.getsource(nonlocal_op), "pairwise") <= set(get_args(Pairwise))
