"""Benchmarks: `make bench` (`python -m bench`) runs them all; each also runs alone
(`python -m bench.<name>`). Every run writes `bench/results/<name>.json` with the
machine, date, versions and figures, each beside its goal and, where one exists, a
baseline measured in the same run (absolute times are noisy on a shared machine).
"""
