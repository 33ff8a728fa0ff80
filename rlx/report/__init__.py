"""Reports from MLflow: comparison tables (paper numbers beside ours) and figures.

`python -m rlx.report --experiment NAME [--out DIR]`: load.py reads the runs
into pandas, tables.py builds the tables, plots.py draws the figures,
build.py puts them together and html.py writes README.md and index.html.
"""
