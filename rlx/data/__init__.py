"""Video data layer: official split indexes, sampling, decoding, augmentation,
optical flow, the synthetic benchmark and the Ray Data pipeline.

Submodules are imported explicitly by their users; this package import stays
light, and no module the `python -m rlx.data` command line imports pulls in
torch or ray.
"""
