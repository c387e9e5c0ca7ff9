"""Benchmarks: `./kit bench` (or `python -m benchmarks`) runs them all and writes RESULTS.md."""
