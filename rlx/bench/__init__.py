"""Benchmarks: `python -m rlx.bench {data,model,train,families,tune,all}`.

Every result is a ratio of a candidate over a baseline measured in the same
run, printed as one JSON line and appended to reports/bench/<date>-<host>.jsonl.
One module per suite (`data`, `model`, `train`, `families`, `tune`); `common`
holds the result format, the timers and the writer.
"""
