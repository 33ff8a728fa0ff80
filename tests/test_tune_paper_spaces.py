"""The shipped paper spaces are the paper's tables: every cell of Tables 2-8 is exactly one group, trained
with the paper's recipe (seed paper §5.2-5.6, PAPER.md §6), in the plan `--dry-run` prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlx.report.paper import PAPER
from rlx.tune.fusion import stream_pairs
from rlx.tune.plan import describe
from rlx.tune.space import SearchSpace, load_space

SPACES = Path(__file__).parent.parent / "tune_spaces"
FILES = {"ucf101": "paper-ucf101.yaml", "hmdb51": "paper-hmdb51.yaml", "charades": "paper-charades.yaml"}
STREAMS = {"spatial": ("rgb",), "temporal": ("flow",), "two-stream": ("rgb", "flow")}
RECIPE = {  # PAPER.md §6
    "rgb": {"model.dropout": 0.8, "optim.epochs": 50, "optim.milestones": (35, 45)},
    "flow": {"model.dropout": 0.7, "optim.epochs": 60, "optim.milestones": (45, 55), "data.new_length": 10},
}
SHARED = {
    "optim.lr": 0.0005,
    "optim.batch_size": 24,
    "optim.momentum": 0.9,
    "optim.weight_decay": 0.0005,
    "model.bn_mode": "moving",
    "model.bn_momentum": 0.001,
    "model.backbone": "resnetv2_101",
}


@pytest.fixture(scope="module")
def spaces() -> dict[str, SearchSpace]:
    return {ds: load_space(SPACES / f, check_data=False, cluster={"CPU": 96, "GPU": 8}) for ds, f in FILES.items()}


def cells():
    """(paper row, dataset, split, modality, arch, T, insert point) for every group a paper value needs."""
    for row in PAPER:
        if row.not_this_model:  # another paper's network (Table 7's TSN): nothing of ours to train
            continue
        for arch in row.arch.split("+"):  # "tsn+nonlocal": Table 2's ensemble of two trained cells
            for split in [row.split] if row.split else [1, 2, 3]:  # None: the mean of the 3 splits
                for modality in STREAMS[row.stream]:
                    insert = row.insert_after if arch not in ("tsn", "local") else None
                    yield row, row.dataset, split, modality, arch, row.num_segments or 8, insert


def matches(space: SearchSpace, dataset, split, modality, arch, t, insert):
    found = []
    for group in space.groups():
        cfg = space.sample_config(group)
        if (cfg.data.dataset, cfg.data.split, cfg.data.modality, cfg.model.arch, cfg.data.num_segments) != (
            dataset,
            split,
            modality,
            arch,
            t,
        ):
            continue
        if insert is None or cfg.model.insert_after == insert:
            found.append(group)
    return found


def test_every_cell_of_tables_2_to_8_is_exactly_one_group_of_the_plan(spaces):
    plans = {ds: describe(space) for ds, space in spaces.items()}
    needed = list(cells())
    assert len(needed) > 60
    for row, dataset, split, modality, arch, t, insert in needed:
        groups = matches(spaces[dataset], dataset, split, modality, arch, t, insert)
        what = f"{row.table} {dataset} split {split} {modality} {arch} T={t} {insert}"
        assert len(groups) == 1, f"{what}: {len(groups)} groups ({[g.key for g in groups]})"
        assert f"\n{groups[0].key} " in plans[dataset], f"{what}: group {groups[0].key} not in the --dry-run plan"


def test_every_group_trains_with_the_papers_recipe_and_nothing_is_searched(spaces):
    for space in spaces.values():
        assert space.scheduler.type == "fifo" and space.trials_per_group() == 1
        assert all(s.role == "nuisance" and s.values == (0,) for s in space.search.values())  # the seed only
        for group in space.groups():
            flat = space.sample_config(group).to_flat()
            recipe = {**SHARED, **RECIPE[flat["data.modality"]]}
            assert {k: flat[k] for k in recipe} == {
                k: list(v) if isinstance(v, tuple) else v for k, v in recipe.items()
            }
            # §5.2: the temporal stream starts from the trained spatial stream of the same cell
            assert flat["model.init_from"] == ("group:stream=rgb" if flat["data.modality"] == "flow" else "")


def test_two_stream_cells_are_fused_pairs(spaces):
    for dataset in ("ucf101", "hmdb51"):
        space = spaces[dataset]
        pairs = stream_pairs(space)
        assert space.fusion_step is not None and len(pairs) * 2 == len(space.groups())
