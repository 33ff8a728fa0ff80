"""Video data layer: official split indexes, sampling, decoding, augmentation,
optical flow, the synthetic benchmark and the Ray Data pipeline.

Submodules are imported explicitly by their users; this package import stays
light (no torch, no ray) so `python -m rlx.data --help` is instant.
"""
