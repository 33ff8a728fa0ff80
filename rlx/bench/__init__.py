"""Benchmarks: `python -m rlx.bench {data,model,all}`.

Every result is a ratio of a candidate over a baseline measured in the same
run, printed as one JSON line and appended to reports/bench/<date>-<host>.jsonl.
"""
