"""Benchmarks run by ``make bench``: futurist against its baselines, interleaved, in one run."""
