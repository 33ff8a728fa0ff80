"""Evaluation: metrics, score tables, plots (numpy/pandas; no torch at import)."""
