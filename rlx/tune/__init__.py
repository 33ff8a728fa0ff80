"""Hyperparameter search: search-space files, plans, the Ray Tune run, two-stream fusion."""
