"""Benchmarks: `python -m rlx.bench {data,model,train,families,tune,gpu,all}`; `python -m rlx.bench.sizing`.

Every result is a ratio of a candidate over a baseline measured in the same
run, printed as one JSON line and appended to reports/bench/<date>-<host>.jsonl.
One module per suite (`data`, `model`, `train`, `families`, `tune`, `gpu`), with
helpers per part (`data_decoders`, `data_cache`, `data_ray`, `data_flow`,
`gpu_kernels`, `throughput`); `common` holds the result format, the timers
and the writer; `sizing` turns the recorded lines into decode CPUs per GPU
node (clusters/README.md).
"""
