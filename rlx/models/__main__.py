"""`python -m rlx.models [--set model.key=value ...]`: build a model, run one
forward/backward pass on a random batch, and print its size and output shape.

A quick way to see what a configuration costs before putting it in a search.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from rlx.config import ConfigError, RunConfig, parse_overrides
from rlx.models import build_model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rlx.models", description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override (dotted key)")
    parser.add_argument("--batch", type=int, default=2, help="videos in the random batch")
    parser.add_argument("--classes", type=int, default=101)
    args = parser.parse_args(argv)
    defaults = {"model.backbone": "resnetv2_small", "model.bn_mode": "batch", "data.input_size": 112}
    try:
        cfg = RunConfig.from_flat({**defaults, **parse_overrides(args.set)})
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    in_channels = cfg.data.in_channels
    torch.manual_seed(cfg.train.seed)
    model = build_model(cfg.model, args.classes, in_channels)
    size = cfg.data.input_size
    x = torch.randn(args.batch, cfg.data.num_segments, in_channels, size, size)
    labels = torch.randint(0, args.classes, (args.batch,))
    start = time.perf_counter()
    logits = model(x)
    loss = torch.nn.functional.cross_entropy(logits, labels)
    loss.backward()
    seconds = time.perf_counter() - start

    params = sum(p.numel() for p in model.parameters())
    relational = getattr(model, "relational", None)
    rel_params = sum(p.numel() for p in relational.parameters()) if relational is not None else 0
    m = cfg.model
    print(f"model      {m.arch} on {m.backbone}, R-LSTM after {m.insert_after}, pairwise {m.pairwise}, BN {m.bn_mode}")
    print(f"input      {tuple(x.shape)}  (B, T, C, H, W), {cfg.data.modality}")
    print(f"output     {tuple(logits.shape)}  (B, classes)")
    print(f"parameters {params:,} total, {rel_params:,} in the relational branch")
    if relational is not None:
        print(f"branch     R-LSTM -> 1x1 conv -> {len(relational.blocks)} new conv5 block(s) -> spatial average")
    print(f"step       forward+backward {seconds:.2f} s on cpu, loss {loss.item():.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
