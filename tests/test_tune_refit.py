"""`refit: true`: the selected trial's configuration again, on the whole training split."""

from __future__ import annotations

from rlx.config import RunConfig
from rlx.tracking import RunRecord
from rlx.tune.refit import refit_config
from rlx.tune.space import load_space

SPACE = """
name: r
description: selection then refit
fixed: {data.dataset: synthetic, model.backbone: resnetv2_small, optim.epochs: 4}
axes:
  data.num_segments: [4, 8]
search:
  model.arch: {grid: [local, two_branch]}
  model.dropout: {uniform: [0.5, 0.9], role: nuisance}
  optim.milestones: {choice: [[2], [3]], role: nuisance}
refit: true
resources: {workers_per_trial: 1, gpus_per_worker: 0, cpus_per_worker: 1}
"""


def test_a_refit_is_the_group_with_the_selected_values_and_no_hold_out(tmp_path):
    (tmp_path / "space.yaml").write_text(SPACE)
    space = load_space(tmp_path / "space.yaml", check_data=False)
    group = space.groups()[1]
    # MLflow keeps params as str() of the value: the refit reads them back typed
    trial = RunRecord(
        "abc",
        "FINISHED",
        {},
        {"model.arch": "two_branch", "model.dropout": "0.6123", "optim.milestones": "[2]", "data.num_segments": "8"},
        {"val/top1": 0.5},
    )
    flat = refit_config(space, group, trial)
    cfg = RunConfig.from_flat(flat)
    assert (cfg.model.arch, cfg.model.dropout, cfg.optim.milestones) == ("two_branch", 0.6123, (2,))
    assert cfg.data.num_segments == 8 and cfg.data.val_fraction == 0.0 and cfg.optim.epochs == 4
