"""Training: the plain-PyTorch epoch loop, the Ray Train worker function and the per-run driver."""
