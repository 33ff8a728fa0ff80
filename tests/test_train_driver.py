"""The per-trial driver: the TorchTrainer a run gets (not started)."""

from __future__ import annotations

from rlx.config import RunConfig
from rlx.train.context import RunContext
from rlx.train.driver import build_trainer
from rlx.train.worker import train_fn_per_worker


def test_the_trainer_carries_resources_names_checkpoints_and_the_whole_context(tmp_path):
    cfg = RunConfig.from_flat(
        {
            "train.num_workers": 2,
            "train.cpus_per_worker": 0.5,
            "train.keep_checkpoints": 3,
            "train.max_failures": 1,
            "train.placement_strategy": "STRICT_PACK",
        }
    )
    ctx = RunContext(
        name="trial-7", storage=str(tmp_path), tracking_uri="sqlite:///m.db", experiment="e", dataset_dir="/prepared"
    )
    trainer = build_trainer(cfg, ctx)
    scaling, run = trainer.scaling_config, trainer.run_config
    assert scaling.num_workers == 2 and not scaling.use_gpu and scaling.resources_per_worker == {"CPU": 0.5}
    assert scaling.placement_strategy == "STRICT_PACK"
    assert run.name == "trial-7" and run.storage_path == str(tmp_path)
    assert run.checkpoint_config.num_to_keep == 3 and run.failure_config.max_failures == 1
    loop_config = trainer.train_loop_config
    assert RunConfig.from_flat(loop_config["flat"]) == cfg  # the flat form converts back to the same config
    assert RunContext(**loop_config["context"]) == ctx
    assert trainer.train_loop_per_worker is train_fn_per_worker


def test_gpu_runs_reserve_one_gpu_per_worker(tmp_path):
    cfg = RunConfig.from_flat({"train.use_gpu": True, "train.cpus_per_worker": 4})
    ctx = RunContext(name="g", storage=str(tmp_path), tracking_uri="x", experiment="e", dataset_dir="/d")
    scaling = build_trainer(cfg, ctx).scaling_config
    assert scaling.use_gpu and scaling.resources_per_worker == {"CPU": 4.0, "GPU": 1}
