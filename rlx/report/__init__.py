"""Reports from MLflow: comparison tables (paper numbers beside ours) and figures.

`python -m rlx.report --experiment NAME [--out DIR]`. load.py reads the runs
into pandas (the only module here that reaches MLflow, through
rlx.tracking); search.py reads the search space. In a search with refits,
refit.py puts each group's refit on the whole training split in place of
its selection trials in the tables compared with the paper (the header's
protocol line says which runs those are). The tables go in three steps:
which runs form a row (selection.py: best configuration, means over seeds
and splits; ensembles.py; per_class.py; per_run.py; boundary.py; refit.py)
into typed rows (rows.py and beside their logic), then labelled and
formatted (format.py; paper_columns.py for the rows beside the paper's
numbers) and put together per table (tables.py). coverage.py says how
many test videos a row covers (incomplete rows are marked †n with a
footnote); paper.py holds the published numbers and when they apply. plots.py draws the
figures, build.py puts tables and figures together, html.py writes
README.md and index.html (run ids linked to the MLflow UI by links.py when
a server is known). publish.py writes the files and logs them to the
search's MLflow run (`--log`), through rlx.tracking too.
"""
