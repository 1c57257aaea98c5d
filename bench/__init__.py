"""Benchmarks: each module prints a table with ratios against a baseline measured in the same run
and writes JSON under results/. Run them as `python -m bench.<name>`."""
